// Hostile requests against lora-export/next's handlers behind a real
// node:http server (test-servers/attack-server.mjs, a child process, so a crash is
// seen as one): deep and huge JSON, long strings, many split parts, tiny
// shards, an overflowing date, cross-site cookie requests. Each answers a
// 4xx JSON error, the server lives on, and another user's /history answers.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createUser, freshDatabase } from './support.mjs'
import { claims, hs256, ssrCookie } from './tokens.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'
const MiB = 1024 * 1024

/** The attacked server: `{ url, port, alive(), died(), exit, stderr }`. */
async function startServer(t) {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-attack-'))
  const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', 'test-servers', 'attack-server.mjs')], {
    env: { ...process.env, ATTACK_DATABASE_URL: url, ATTACK_STORAGE_ROOT: storageRoot, ATTACK_SUPABASE_URL: SUPABASE_URL },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const server = { url, stderr: '', exit: null }
  child.stderr.on('data', (chunk) => { server.stderr += chunk })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((server.exit = { code, signal }))))
  t.after(() => { if (server.exit === null) child.kill() })
  server.port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve(JSON.parse(line).port)
    })
    exited.then(({ code, signal }) => reject(new Error(`the server ended (${code ?? signal}) before listening: ${server.stderr}`)))
  })
  server.alive = () => server.exit === null
  /** Whether the server ends within a second (after a connection closed without an answer). */
  server.died = () => Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))])
  return server
}

/**
 * One request with node:http: `body` a string or Buffer, sent with a
 * Content-Length, or (`chunked`) in 64 KiB chunks without one. Resolves
 * with `{ status, body }` (the parsed JSON when it is JSON); a connection
 * the server drops without answering rejects.
 */
function send(port, method, pathname, { headers = {}, body, chunked = false } = {}) {
  return new Promise((resolve, reject) => {
    const bytes = body === undefined ? undefined : Buffer.from(body)
    const all = { ...headers }
    if (bytes && !chunked) all['content-length'] = String(bytes.length)
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers: all }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed = text
        try { parsed = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode, headers: res.headers, body: parsed })
      })
    })
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)))
    req.on('close', () => reject(new Error('the connection closed without an answer')))
    if (bytes && chunked) {
      let at = 0
      const more = () => {
        while (at < bytes.length) {
          const piece = bytes.subarray(at, (at += 64 * 1024))
          if (!req.write(piece)) return req.once('drain', more)
        }
        req.end()
      }
      more()
    } else {
      req.end(bytes)
    }
  })
}

/** `{"filters": [[[…]]]}` nested `depth` arrays deep (40 KB at 20,000). */
const deep = (depth) => `{"filters": ${'['.repeat(depth)}${']'.repeat(depth)}}`

test('hostile requests answer 4xx JSON, the server survives, other users keep their answers', async (t) => {
  const bearer = (id) => ({ authorization: `Bearer ${hs256(claims(id, SUPABASE_URL))}`, 'content-type': 'application/json' })
  // One server for every case; a case that kills it fails, and the next one gets a new server.
  let server, port, attacker, bystander
  const serve = async () => {
    if (server?.alive()) return
    server = await startServer(t)
    port = server.port
    attacker = bearer(createUser(server.url))
    bystander = bearer(createUser(server.url))
  }
  t.beforeEach(serve)
  await serve()
  const config = { scope: 'all', format: 'jsonl' }

  /** The bystander's history answers 200 within 5 s, and the server is still up. */
  const othersServed = async (what) => {
    assert.ok(server.alive(), `${what}: the server died (${JSON.stringify(server.exit)}): ${server.stderr.slice(-2000)}`)
    const started = Date.now()
    const history = await send(port, 'GET', '/api/export/history', { headers: bystander })
    assert.equal(history.status, 200, `${what}: another user's history: ${JSON.stringify(history.body)}`)
    assert.ok(Date.now() - started < 5000, `${what}: another user's history took ${Date.now() - started} ms`)
  }
  /** `answer` is a JSON error of `status` with `code`, and an issue `issueCode` at `issuePath` when given. */
  const refused = (what, answer, status, code, issuePath, issueCode) => {
    assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body).slice(0, 500)}`)
    assert.equal(typeof answer.body, 'object', `${what}: a JSON body`)
    assert.equal(answer.body.error, code, `${what}: ${JSON.stringify(answer.body).slice(0, 500)}`)
    if (issuePath !== undefined) {
      const issue = answer.body.issues?.find((i) => i.path === issuePath)
      assert.ok(issue, `${what}: an issue at ${issuePath}: ${JSON.stringify(answer.body.issues)?.slice(0, 500)}`)
      assert.equal(issue.code, issueCode, `${what}: ${JSON.stringify(issue)}`)
    }
  }

  await t.test('a body of nested arrays 20,000 deep (finding 1)', async () => {
    for (const route of ['/api/export/count', '/api/export/preview', '/api/conversations', '/api/export/conversations']) {
      const answer = await send(port, 'POST', route, { headers: attacker, body: deep(20_000) }).catch((e) => ({ status: 0, body: e.message }))
      if (answer.status === 0 && (await server.died())) assert.fail(`${route}: the server died (${JSON.stringify(server.exit)})`)
      refused(route, answer, 400, 'VALIDATION_ERROR', 'filters', 'too_deep')
    }
    // Deep but parseable by JSON.parse and within the body limit, at the JS → Rust conversion.
    await othersServed('deep JSON')
  })

  await t.test('a body over 1 MiB, with and without Content-Length (finding 6)', async () => {
    const body = JSON.stringify({ config, padding: 'x'.repeat(2 * MiB) })
    for (const chunked of [false, true]) {
      const answer = await send(port, 'POST', '/api/export/preview', { headers: attacker, body, chunked })
      refused(`chunked: ${chunked}`, answer, 413, 'PAYLOAD_TOO_LARGE')
      assert.match(answer.body.message, /1048576 bytes/)
    }
    await othersServed('huge body')
  })

  await t.test('a 4 MB systemPrompt is refused, and so is one over the cap (finding 6)', async () => {
    const huge = { config: { ...config, systemPrompt: 'p'.repeat(4_200_000) } }
    refused('4.2 MB prompt', await send(port, 'POST', '/api/export/conversations', { headers: attacker, body: JSON.stringify(huge) }), 413, 'PAYLOAD_TOO_LARGE')
    const long = { config: { ...config, systemPrompt: 'p'.repeat(100_000) } }
    const answer = await send(port, 'POST', '/api/export/conversations', { headers: attacker, body: JSON.stringify(long) })
    refused('100 KB prompt', answer, 400, 'VALIDATION_ERROR', 'config.systemPrompt', 'too_long')
    await othersServed('long prompt')
  })

  await t.test('80,000 split parts answer at once, four at a time (finding 2)', async () => {
    const split = Array.from({ length: 80_000 }, (_, i) => `p${i.toString(36)}=1e-5`).join(',')
    const body = JSON.stringify({ config, dataset: { split } })
    assert.ok(body.length < MiB)
    const answers = Array.from({ length: 4 }, () =>
      send(port, 'POST', '/api/export/preview', { headers: attacker, body }).catch((e) => ({ status: 0, body: e.message })),
    )
    await othersServed('80,000 split parts')
    for (const answer of await Promise.all(answers)) refused('split', answer, 400, 'VALIDATION_ERROR', 'dataset.split', 'too_many_parts')
  })

  await t.test('maxRecordsPerShard: 1 and other tiny shards are refused (finding 3)', async () => {
    const tiny = { config, dataset: { maxRecordsPerShard: 1 } }
    const answer = await send(port, 'POST', '/api/export/conversations', { headers: attacker, body: JSON.stringify(tiny) })
    refused('maxRecordsPerShard 1', answer, 400, 'VALIDATION_ERROR', 'dataset.maxRecordsPerShard', 'out_of_range')
    const small = { config, dataset: { maxBytesPerShard: 2048 } }
    const bytes = await send(port, 'POST', '/api/export/conversations', { headers: attacker, body: JSON.stringify(small) })
    refused('maxBytesPerShard 2048', bytes, 400, 'VALIDATION_ERROR', 'dataset.maxBytesPerShard', 'out_of_range')
    await othersServed('tiny shards')
  })

  await t.test('a `to` date whose next day overflows answers 400 at `to` (finding 12)', async () => {
    for (const to of ['%2B262142-12-31', '%2B262143-01-01']) {
      const answer = await send(port, 'GET', `/api/export/history?to=${to}`, { headers: attacker })
      refused(to, answer, 400, 'VALIDATION_ERROR', 'to', 'invalid_date')
      assert.doesNotMatch(JSON.stringify(answer.body), /panic|overflow/)
    }
    await othersServed('overflowing date')
  })

  await t.test('cookie-authenticated POSTs need JSON and a same-origin Origin; bearer ones do not', async () => {
    const id = createUser(server.url)
    const cookie = { cookie: ssrCookie(SUPABASE_URL, hs256(claims(id, SUPABASE_URL))) }
    const origin = `http://127.0.0.1:${port}`
    const body = JSON.stringify({})
    const post = (headers) => send(port, 'POST', '/api/export/count', { headers: { ...cookie, ...headers }, body })
    refused('no Origin', await post({ 'content-type': 'application/json' }), 403, 'CROSS_SITE_REQUEST')
    refused('cross-site Origin', await post({ 'content-type': 'application/json', origin: 'https://evil.example' }), 403, 'CROSS_SITE_REQUEST')
    refused('an opaque Origin', await post({ 'content-type': 'application/json', origin: 'null' }), 403, 'CROSS_SITE_REQUEST')
    refused('Sec-Fetch-Site cross-site', await post({ 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }), 403, 'CROSS_SITE_REQUEST')
    refused('a form post', await post({ 'content-type': 'text/plain', origin }), 415, 'UNSUPPORTED_MEDIA_TYPE')
    const removed = await send(port, 'DELETE', `/api/export/${crypto.randomUUID()}`, { headers: { ...cookie, origin: 'https://evil.example' } })
    refused('cross-site DELETE', removed, 403, 'CROSS_SITE_REQUEST')
    assert.equal((await post({ 'content-type': 'application/json', origin })).status, 200)
    assert.equal((await post({ 'content-type': 'application/json; charset=utf-8', 'sec-fetch-site': 'same-origin' })).status, 200)
    const bearerOnly = bearer(id)
    delete bearerOnly['content-type']
    assert.equal((await send(port, 'POST', '/api/export/count', { headers: { ...bearerOnly, origin: 'https://elsewhere.example' }, body })).status, 200)
    await othersServed('cross-site requests')
  })

  assert.ok(server.alive(), `the server died: ${server.stderr.slice(-2000)}`)
  assert.doesNotMatch(server.stderr, /panicked|SIGSEGV/)
})
