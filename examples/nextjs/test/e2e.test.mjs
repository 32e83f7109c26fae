// The Next.js example end to end: `next start` (after `next build`) serving
// the seeds' routes over HTTP, backed by a real PostgreSQL, checked against
// the core's output for the same data.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ExportClient, contentDisposition, exportDataset, exportFileName, transform } from 'lora-export'
import { conversations, createUser, freshDatabase, jsonl, sql, undated, unzip } from '../../../bindings-node/test/support.mjs'
import { SECRET, claims, es256, es256Key, hs256, serveJwks, ssrCookie, tampered, unsigned } from '../../../bindings-node/test/tokens.mjs'

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const nextBin = createRequire(path.join(appDir, 'package.json')).resolve('next/dist/bin/next')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const randomId = () => crypto.randomUUID()

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

test('the Next.js app serves the export API end to end', { timeout: 300_000 }, async (t) => {
  // 600 approved conversations: 40 edge cases (a small export), all (a large one).
  const data = conversations(600, (i) => (i % 15 === 0 ? 'edge_case' : 'template'))
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-next-'))
  const setup = await ExportClient.connect(url, { storageRoot })
  await setup.migrate({ supabaseStandIns: true })
  assert.equal((await setup.importConversations(jsonl(data))).imported, 600)
  setup.close()
  const [alice, bob, carol] = [createUser(url), createUser(url), createUser(url)]
  // The project's signing key, published as a JWKS on 127.0.0.1 (SUPABASE_URL).
  const key = es256Key()
  const jwks = await serveJwks([key])
  t.after(() => jwks.close())
  const { supabaseUrl } = jwks

  const port = await freePort()
  const server = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: appDir,
    env: {
      ...process.env,
      DATABASE_URL: url,
      SUPABASE_URL: supabaseUrl,
      SUPABASE_JWT_SECRET: SECRET,
      LORA_EXPORT_STORAGE_ROOT: storageRoot,
      LORA_EXPORT_BATCH_SIZE: '100',
      LORA_EXPORT_WORKER_THROTTLE_MS: '150',
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let serverLog = ''
  server.stdout.on('data', (d) => (serverLog += d))
  server.stderr.on('data', (d) => (serverLog += d))
  t.after(async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await exited
    }
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(base)).ok) break
    } catch {}
    assert.ok(i < 600 && server.exitCode === null, `next start did not come up:\n${serverLog}`)
    await sleep(100)
  }

  // Each user signs in as a Supabase app's users do: alice with an ES256
  // token (new signing keys) as a Bearer header, bob with the @supabase/ssr
  // cookie in chunks, carol with an HS256 token (legacy JWT secret).
  const signIn = {
    [alice]: { authorization: `Bearer ${es256(claims(alice, supabaseUrl), key)}` },
    [bob]: { cookie: ssrCookie(supabaseUrl, es256(claims(bob, supabaseUrl), key), 400) },
    [carol]: { authorization: `Bearer ${hs256(claims(carol, supabaseUrl))}` },
  }
  // A cookie is sent by the app's own pages, so with their Origin (as a browser does).
  const call = (method, route, user, body, headers = signIn[user] ?? {}) =>
    fetch(base + route, {
      method,
      headers: {
        ...headers,
        ...(headers.cookie ? { origin: new URL(base).origin } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    })
  const post = (user, body) => call('POST', '/api/export/conversations', user, body)
  const today = new Date().toISOString()

  await t.test('401 for a missing, expired, tampered, unsigned or wrong-audience token; x-user-id is no sign-in', async () => {
    const good = claims(alice, supabaseUrl)
    const now = Math.floor(Date.now() / 1000)
    const cases = [
      ['missing', {}],
      ['missing', { 'x-user-id': alice }],
      ['expired', { authorization: `Bearer ${es256({ ...good, exp: now - 300 }, key)}` }],
      ['bad_signature', { authorization: `Bearer ${tampered(es256(claims(bob, supabaseUrl), key), good)}` }],
      ['algorithm_not_allowed', { authorization: `Bearer ${unsigned(good)}` }],
      ['wrong_audience', { authorization: `Bearer ${es256({ ...good, aud: 'anon' }, key)}` }],
      ['wrong_role', { authorization: `Bearer ${hs256({ ...good, role: 'anon' })}` }],
      ['unknown_key', { authorization: `Bearer ${es256(good, es256Key())}` }],
      ['expired', { cookie: ssrCookie(supabaseUrl, hs256({ ...good, exp: now - 300 })) }],
    ]
    for (const [reason, headers] of cases) {
      for (const [method, route] of [['POST', '/api/export/conversations'], ['GET', '/api/export/history'], ['DELETE', `/api/export/${randomId()}`]]) {
        const response = await call(method, route, undefined, method === 'POST' ? { config: { scope: 'all', format: 'csv' } } : undefined, headers)
        assert.equal(response.status, 401, `${reason} ${method} ${route}`)
        assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
        assert.deepEqual(await response.json().then(({ error, reason }) => ({ error, reason })), { error: 'INVALID_TOKEN', reason })
      }
    }
    const invalid = await post(carol, { config: { scope: 'filtered', format: 'xml' }, filters: { qualityRange: { min: 7, max: 11 } } })
    assert.equal(invalid.status, 400)
    assert.deepEqual((await invalid.json()).issues.map((i) => i.path), ['config.format', 'filters.qualityRange.max'])
  })

  const smallRequest = { config: { scope: 'filtered', format: 'csv' }, filters: { tierTypes: ['edge_case'] } }
  let small
  await t.test('a small export answers 201 and downloads byte-identical to the core', async () => {
    const response = await post(alice, smallRequest)
    assert.equal(response.status, 201)
    small = await response.json()
    assert.equal(small.status, 'completed', 'status is the export status, as in GET /status')
    assert.equal(small.http_status, 201)
    assert.equal(small.conversation_count, 40)
    assert.equal(small.file_name, exportFileName('edge_case', today, 40, 'csv'))
    assert.equal(small.download_url, `/api/export/download/${small.export_id}`, 'the 201 answer says where to download')
    const download = await call('GET', small.download_url, alice)
    assert.equal(download.status, 200)
    assert.equal(download.headers.get('content-type'), 'text/csv; charset=utf-8')
    assert.equal(download.headers.get('content-disposition'), contentDisposition(small.file_name))
    const bytes = Buffer.from(await download.arrayBuffer())
    const core = await transform(jsonl(data), smallRequest)
    assert.ok(bytes.equals(core.data), 'the download is the core output for the same data')
    assert.equal(download.headers.get('x-content-sha256'), core.summary.sha256)
    assert.equal(download.headers.get('content-length'), String(bytes.length), 'Content-Length reaches the client')
    assert.equal(download.headers.get('content-encoding'), null, 'no compression changes the bytes on the way')

    // HEAD: the same headers, no body, and not a download.
    const head = await call('HEAD', small.download_url, alice)
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), String(bytes.length))
    assert.equal(head.headers.get('content-disposition'), contentDisposition(small.file_name))
    assert.equal((await head.arrayBuffer()).byteLength, 0)
    assert.equal((await call('HEAD', small.download_url, bob)).status, 403)

    // A resumed download: the rest of the file from byte 100 (206), not counted again.
    const rest = await call('GET', small.download_url, alice, undefined, { ...signIn[alice], range: 'bytes=100-' })
    assert.equal(rest.status, 206)
    assert.equal(rest.headers.get('content-range'), `bytes 100-${bytes.length - 1}/${bytes.length}`)
    assert.equal(rest.headers.get('content-length'), String(bytes.length - 100))
    assert.ok(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(100)))
    const outside = await call('GET', small.download_url, alice, undefined, { ...signIn[alice], range: `bytes=${bytes.length}-` })
    assert.equal(outside.status, 416)
    assert.equal(outside.headers.get('content-range'), `bytes */${bytes.length}`)
    const logged = (await (await call('GET', '/api/export/history', alice)).json()).items[0]
    assert.equal(logged.download_count, 1, 'the GET counted; the HEADs and the resumed range did not')
  })

  await t.test('the modal routes: counts per scope, preview, the conversations page', async () => {
    const selection = { conversationIds: [data[0].conversation_id, data[1].conversation_id], filters: { tierTypes: ['edge_case'] } }
    const counts = await (await call('POST', '/api/export/count', alice, selection)).json()
    assert.deepEqual(counts, { selected: 2, filtered: 40, all: 600, all_data: 600 })
    const bad = await call('POST', '/api/export/count', alice, { filters: { qualityRange: { min: 7, max: 11 } }, sort: 1 })
    assert.equal(bad.status, 400)
    assert.deepEqual((await bad.json()).issues.map((i) => i.path), ['sort'])
    const notJson = await fetch(base + '/api/export/count', { method: 'POST', headers: signIn[alice], body: '{"filters":' })
    assert.equal(notJson.status, 400)
    assert.deepEqual((await notJson.json()).issues.map((i) => [i.path, i.code]), [['', 'invalid_json']])

    const preview = await (await call('POST', '/api/export/preview', alice, smallRequest)).json()
    assert.equal(preview.format, 'csv')
    assert.equal(preview.count, 3)
    const core = await transform(jsonl(data), smallRequest)
    const firstRows = core.data.toString('utf8').split('\r\n').slice(0, 4).join('\r\n')
    assert.ok(preview.preview.startsWith(firstRows), 'the preview is the first rows of the export')
    const markdown = await (await call('POST', '/api/export/preview?n=1', alice, { ...smallRequest, config: { scope: 'filtered', format: 'markdown' } })).json()
    assert.equal((markdown.preview.match(/^# Conversation: /gm) ?? []).length, 1)
    assert.equal((await call('POST', '/api/export/preview?n=abc', alice, smallRequest)).status, 400)

    const page = await (await call('POST', '/api/conversations', alice, { filters: { tierTypes: ['edge_case'] }, limit: 15 })).json()
    assert.equal(page.total, 40)
    assert.equal(page.totalPages, 3)
    assert.equal(page.items.length, 15)
    assert.ok(page.items.every((c) => c.tier === 'edge_case'))
    assert.equal((await call('POST', '/api/conversations', alice, { limit: 500 })).status, 400)
  })

  let large
  await t.test('a large export answers 202, status polls to completed with progress, then downloads', async () => {
    const response = await post(alice, { config: { scope: 'all', format: 'jsonl' } })
    assert.equal(response.status, 202)
    large = await response.json()
    assert.deepEqual(Object.keys(large).sort(), ['export_id', 'http_status', 'status', 'status_url'])
    assert.equal(large.status, 'queued')
    assert.equal(large.status_url, `/api/export/status/${large.export_id}`)
    const seen = []
    for (let i = 0; i < 2000; i++) {
      const status = await (await call('GET', `/api/export/status/${large.export_id}`, alice)).json()
      seen.push([status.status, status.progress])
      if (status.status === 'completed' || status.status === 'failed') break
      await sleep(25)
    }
    const last = seen.at(-1)
    assert.deepEqual(last, ['completed', 100], `statuses seen: ${JSON.stringify(seen)}`)
    assert.ok(['queued', 'processing'].includes(seen[0][0]), 'the first poll finds it still running')
    const progress = seen.map(([, p]) => p)
    assert.ok(progress.every((p, i) => typeof p === 'number' && p >= 0 && p <= 100 && (i === 0 || p >= progress[i - 1])), `progress ${progress}`)
    t.diagnostic(`status polls: ${seen.length}, progress values seen: ${[...new Set(progress)].join(', ')}`)
    const download = await call('GET', `/api/export/download/${large.export_id}`, alice)
    assert.equal(download.status, 200)
    assert.equal(download.headers.get('content-type'), 'application/x-ndjson')
    const name = exportFileName('template', today, 600, 'jsonl').replace('-template-', '-mixed-')
    assert.equal(download.headers.get('content-disposition'), contentDisposition(name))
    const bytes = Buffer.from(await download.arrayBuffer())
    assert.ok(bytes.equals((await transform(jsonl(data), { scope: 'all', format: 'jsonl' })).data))
  })

  await t.test('history pages and filters', async () => {
    const first = await (await call('GET', '/api/export/history?page=1&limit=1', alice)).json()
    assert.equal(first.total, 2)
    assert.equal(first.totalPages, 2)
    assert.equal(first.hasNext, true)
    assert.equal(first.items[0].export_id, large.export_id, 'newest first')
    const second = await (await call('GET', '/api/export/history?page=2&limit=1', alice)).json()
    assert.equal(second.items[0].export_id, small.export_id)
    assert.equal(second.hasPrev, true)
    const csv = await (await call('GET', '/api/export/history?format=csv', alice)).json()
    assert.deepEqual(csv.items.map((i) => i.export_id), [small.export_id])
    const completed = await (await call('GET', '/api/export/history?status=completed', alice)).json()
    assert.equal(completed.total, 2)
    assert.equal((await (await call('GET', '/api/export/history', bob)).json()).total, 0, 'only the user’s own exports')
    assert.equal((await call('GET', '/api/export/history?limit=500', alice)).status, 400)
    // What a date input sends, and query strings a client gets wrong: each a
    // JSON 400 naming the parameter (on the earlier main: 500 with an empty
    // body for limit=abc, 400 with path "" for from=2026-12-01).
    const today = new Date().toISOString().slice(0, 10)
    const dated = await call('GET', `/api/export/history?from=${today}&to=${today}&format=`, alice)
    assert.equal(dated.status, 200)
    assert.equal((await dated.json()).total, 2)
    const bad = await call('GET', '/api/export/history?limit=abc&from=yesterday&sort=name', alice)
    assert.equal(bad.status, 400)
    const body = await bad.json()
    assert.equal(body.error, 'VALIDATION_ERROR')
    assert.deepEqual(body.issues.map((i) => i.path).sort(), ['from', 'limit', 'sort'])
  })

  await t.test('a dataset export: each file by ?file=, all of them as one streamed zip, listed in history', async () => {
    const dataset = { split: 'train=0.75,validation=0.25', seed: 11, maxRecordsPerShard: 12 }
    const request = { ...smallRequest, config: { scope: 'filtered', format: 'jsonl' }, dataset }
    const response = await post(bob, request)
    assert.equal(response.status, 201)
    const created = await response.json()
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-next-ds-')), 'out')
    await exportDataset(jsonl(data), dir, request, dataset)
    assert.deepEqual(created.files.map((f) => f.name).sort(), fs.readdirSync(dir).sort())
    for (const file of created.files) {
      const route = `${created.download_url}?file=${encodeURIComponent(file.name)}`
      const head = await call('HEAD', route, bob)
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('x-content-sha256'), file.sha256)
      const download = await call('GET', route, bob)
      assert.equal(download.status, 200)
      assert.equal(download.headers.get('content-disposition'), contentDisposition(file.name))
      const bytes = Buffer.from(await download.arrayBuffer())
      assert.ok(undated(file.name, bytes).equals(undated(file.name, fs.readFileSync(path.join(dir, file.name)))), `${file.name} is the core's`)
    }
    const zip = await call('GET', created.download_url, bob)
    assert.equal(zip.status, 200)
    assert.equal(zip.headers.get('content-type'), 'application/zip')
    assert.equal(zip.headers.get('x-content-sha256'), null, 'a zip written as it is sent has no hash')
    const entries = unzip(Buffer.from(await zip.arrayBuffer()))
    assert.deepEqual([...entries.keys()], created.files.map((f) => f.name))
    for (const [name, bytes] of entries) assert.ok(undated(name, bytes).equals(undated(name, fs.readFileSync(path.join(dir, name)))), name)
    for (const name of ['../README.md', 'nope.jsonl']) {
      assert.equal((await call('GET', `${created.download_url}?file=${encodeURIComponent(name)}`, bob)).status, 404, name)
    }
    assert.equal((await call('GET', `${created.download_url}?file=README.md`, alice)).status, 403)
    const item = (await (await call('GET', '/api/export/history', bob)).json()).items[0]
    assert.deepEqual(item.files, created.files)
    assert.equal(item.download_count, created.files.length + 1, 'every GET counted, no HEAD')
  })

  await t.test('another user gets 403', async () => {
    for (const route of [`/api/export/status/${small.export_id}`, `/api/export/download/${small.export_id}`]) {
      const response = await call('GET', route, bob)
      assert.equal(response.status, 403)
      assert.equal((await response.json()).error, 'FORBIDDEN')
    }
    assert.equal((await call('DELETE', `/api/export/${small.export_id}`, bob)).status, 403)
    assert.equal((await call('GET', '/api/export/status/00000000-0000-4000-8000-000000000000', alice)).status, 404)
    assert.equal((await call('GET', `/api/export/status/${small.export_id}`, undefined, undefined, { 'x-user-id': alice })).status, 401, 'the owner\'s id in a header is not her sign-in')
  })

  await t.test('an expired export answers 410', async () => {
    sql(url, `UPDATE lora_export.export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = '${small.export_id}'`)
    const response = await call('GET', `/api/export/download/${small.export_id}`, alice)
    assert.equal(response.status, 410)
    assert.equal((await response.json()).error, 'GONE')
    assert.equal((await (await call('GET', `/api/export/status/${small.export_id}`, alice)).json()).status, 'expired')
  })

  await t.test('retry makes a new export from an expired one; the audit trail is CSV', async () => {
    assert.equal((await call('POST', `/api/export/retry/${small.export_id}`, bob)).status, 403)
    const response = await call('POST', `/api/export/retry/${small.export_id}`, alice)
    assert.equal(response.status, 201)
    const retried = await response.json()
    assert.notEqual(retried.export_id, small.export_id)
    const bytes = Buffer.from(await (await call('GET', retried.download_url, alice)).arrayBuffer())
    assert.ok(bytes.equals((await transform(jsonl(data), smallRequest)).data))
    const again = await call('POST', `/api/export/retry/${retried.export_id}`, alice)
    assert.equal(again.status, 409)
    assert.equal((await again.json()).error, 'NOT_RETRYABLE')

    const audit = await call('GET', '/api/export/audit', alice)
    assert.equal(audit.status, 200)
    assert.match(audit.headers.get('content-disposition'), /^attachment; filename="audit-trail-\d{4}-\d{2}-\d{2}\.csv"$/)
    const rows = (await audit.text()).trim().split('\n')
    assert.equal(rows[0], 'created_at,export_id,user_id,seq,event,detail,prev_hash,hash')
    assert.ok(rows.slice(1).every((row) => row.split(',')[2] === alice), 'only her own events')
    assert.ok(rows.some((row) => row.includes(',retried,')), 'the retry is in the trail')
    const refused = await call('GET', '/api/export/audit?all=1', alice)
    assert.equal(refused.status, 403)
    assert.equal((await refused.json()).error, 'ADMIN_REQUIRED')
    const admin = { authorization: `Bearer ${es256({ ...claims(carol, supabaseUrl), app_metadata: { role: 'admin' } }, key)}` }
    const everyone = await (await call('GET', '/api/export/audit?all=1', carol, undefined, admin)).text()
    assert.ok(everyone.includes(alice) && everyone.includes(small.export_id), 'an administrator reads every user\'s trail')
    const forged = { authorization: `Bearer ${es256({ ...claims(carol, supabaseUrl), user_metadata: { role: 'admin' } }, key)}` }
    assert.equal((await call('GET', '/api/export/audit?all=1', carol, undefined, forged)).status, 403, 'user_metadata is the user\'s own to write')
  })

  await t.test('DELETE removes an export', async () => {
    const response = await call('DELETE', `/api/export/${large.export_id}`, alice)
    assert.equal(response.status, 200)
    assert.equal((await response.json()).file_deleted, true)
    assert.ok([404, 410].includes((await call('GET', `/api/export/download/${large.export_id}`, alice)).status))
  })

  await t.test('the 11th request within an hour answers 429 with Retry-After', async () => {
    const one = { config: { scope: 'selected', format: 'jsonl' }, conversationIds: ['conv-0000001'] }
    for (let i = 1; i <= 10; i++) assert.equal((await post(carol, one)).status, 201, `request ${i}`)
    const limited = await post(carol, one)
    assert.equal(limited.status, 429)
    const limit = await limited.json()
    assert.equal(limit.error, 'RATE_LIMITED')
    assert.ok(Number(limited.headers.get('retry-after')) > 0)
    assert.equal(limit.retry_after, Number(limited.headers.get('retry-after')), 'the seconds are in the body too')
  })
})

test('npm run setup migrates, imports the sample and creates a user whose token signs in', { timeout: 120_000 }, async () => {
  const url = freshDatabase()
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const run = () =>
    new Promise((resolve, reject) => {
      const child = spawn(npm, ['run', '--silent', 'setup', '--', '--supabase-stand-ins'], {
        cwd: appDir,
        env: { ...process.env, DATABASE_URL: url, SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_JWT_SECRET: SECRET },
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`setup exited ${code}:\n${out}`))))
    })
  const first = await run()
  assert.match(first, /sample conversations imported: 46 \(4 malformed lines skipped\)/)
  const again = await run()
  assert.match(again, /migrations applied: none/, 'setup can run twice')
  const userId = first.match(/test user: \S+ ([0-9a-f-]{36})/)[1]
  assert.equal(again.match(/test user: \S+ ([0-9a-f-]{36})/)[1], userId, 'the same user both times')
  const token = first.match(/access token \(1 h\): (\S+)/)[1]
  const client = await ExportClient.connect(url, { supabaseUrl: 'http://127.0.0.1:9', jwtSecret: SECRET })
  try {
    const session = await client.verifySession(token)
    assert.equal(session.userId, userId)
    const created = await client.createExport(session, { config: { scope: 'all', format: 'jsonl' } })
    assert.equal(created.conversation_count, 32)
  } finally {
    client.close()
  }
})
