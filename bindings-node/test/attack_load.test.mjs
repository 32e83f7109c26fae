// Load as an attack (issue 33, findings 4 and 5): lora-export/next's
// handlers behind a real node:http server, one signed-in user stalling zip
// downloads (the headers read, then nothing) and firing parallel searches,
// while another user's history, count and download keep answering within
// a generous bound; a stalled download is closed after its idle timeout.
import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversation, createUser, freshDatabase, jsonl } from './support.mjs'
import { SECRET, claims, hs256 } from './tokens.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'
/** The bound another user's answer must come within (a starvation check, not a benchmark). */
const BOUND_MS = 5000

/** Conversation `i` with 8 KB of text: 600 of them make a zip of about 5 MB. */
const fat = (i) => {
  const c = conversation(i)
  c.turns[1].content += ` ${'lorem ipsum '.repeat(700)}`
  return c
}

/** The export routes behind a node:http server, as `next start` serves them; `aborted` counts the responses closed before their end. */
async function serve(t, client) {
  const routes = exportRoutes({ client })
  const served = { base: '', aborted: 0 }
  const server = http.createServer(async (req, res) => {
    res.once('close', () => (served.aborted += res.writableFinished ? 0 : 1))
    const url = new URL(req.url, 'http://localhost')
    const [name, id] = url.pathname.split('/').slice(3) // /api/export/<route>/<id>
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks)
    const request = new Request(url, { method: req.method, headers: req.headers, body })
    const response = await routes[name][req.method](request, { params: Promise.resolve({ id }) })
    res.writeHead(response.status, Object.fromEntries(response.headers))
    if (response.body) await pipeline(Readable.fromWeb(response.body), res).catch(() => {})
    else res.end()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  served.base = `http://127.0.0.1:${server.address().port}/api/export`
  return served
}

/** A GET on a raw socket that reads the status line and then stops reading. */
function stalledGet(at, token) {
  const { hostname, port, pathname } = new URL(at)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    })
    socket.once('error', reject)
    socket.once('data', (chunk) => {
      socket.pause()
      resolve({ socket, status: Number(chunk.toString('latin1').split(' ')[1]) })
    })
  })
}

/** The bytes `socket` receives from now until the server closes it. */
function untilClosed(socket) {
  const chunks = []
  socket.on('data', (chunk) => chunks.push(chunk))
  socket.on('error', () => {})
  const closed = new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))))
  socket.resume()
  return closed
}

/** `promise`, or a failure naming `what` once BOUND_MS have passed. */
function within(what, promise) {
  let timer
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${BOUND_MS} ms`)), BOUND_MS)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

test('stalled zip readers and parallel searches of one user leave others their answers', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-attack-load-'))
  // A download unread for 2 s is closed (read from the environment, as any option).
  process.env.LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS = '2'
  const client = await ExportClient.connect(url, { storageRoot, supabaseUrl: SUPABASE_URL, jwtSecret: SECRET, syncThreshold: 5000 })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(Array.from({ length: 600 }, (_, i) => fat(i))))
  const [mallory, bob] = [createUser(url), createUser(url)]
  const token = (user) => hs256(claims(user, SUPABASE_URL))
  const auth = (user) => ({ authorization: `Bearer ${token(user)}`, 'content-type': 'application/json' })
  const served = await serve(t, client)
  const base = served.base
  const post = (user, route, body) => fetch(`${base}/${route}`, { method: 'POST', headers: auth(user), body: JSON.stringify(body) })

  const dataset = { config: { scope: 'all', format: 'jsonl' }, dataset: {} }
  const created = await (await post(mallory, 'create', dataset)).json()
  assert.equal(created.status, 'completed')
  const bobs = await (await post(bob, 'create', { config: { scope: 'all', format: 'csv' } })).json()

  // Eight zip downloads that read the status line only: four stream, the rest 429.
  const stalled = []
  for (let i = 0; i < 8; i++) stalled.push(await stalledGet(`${base}/download/${created.export_id}`, token(mallory)))
  const stalledSince = Date.now()
  t.after(() => stalled.forEach(({ socket }) => socket.destroy()))
  assert.deepEqual(stalled.map((s) => s.status), [200, 200, 200, 200, 429, 429, 429, 429])

  // 150 parallel searches: each answers 200 or 429 with retry_after, never 5xx.
  const searches = Array.from({ length: 150 }, () => post(mallory, 'count', { filters: { searchQuery: 'lorem ipsum' } }))
  const history = within('history', fetch(`${base}/history`, { headers: auth(bob) }))
  const count = within('count', post(bob, 'count', { filters: { searchQuery: 'Question 7' } }))
  const download = within('download', fetch(`${base}/download/${bobs.export_id}`, { headers: auth(bob) }))
  assert.equal((await history).status, 200)
  assert.equal((await count).status, 200)
  const file = await download
  assert.equal(file.status, 200)
  assert.ok((await within('download body', file.arrayBuffer())).byteLength > 600 * 8000)
  const answers = await Promise.all(searches)
  const statuses = answers.map((a) => a.status)
  assert.ok(statuses.every((s) => s === 200 || s === 429), `statuses: ${[...new Set(statuses)]}`)
  assert.ok(statuses.includes(429), 'parallel searches of one user are limited')
  const bodies = await Promise.all(answers.map((a) => a.json()))
  for (const refused of bodies.filter((_, i) => statuses[i] === 429)) {
    assert.equal(refused.error, 'RATE_LIMITED')
    assert.ok(refused.retry_after >= 1)
  }

  // The stalled downloads are closed by the server while their clients
  // still read nothing; a reader that comes back gets the bytes in flight,
  // then the connection ends without the chunked body's end.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stalledSince + 2500 - Date.now())))
  await within('the server closing the stalled downloads', (async () => {
    while (served.aborted < 4) await new Promise((resolve) => setTimeout(resolve, 50))
  })())
  assert.equal(served.aborted, 4)
  for (const { socket } of stalled.slice(0, 4)) {
    const rest = await within('a stalled download closed', untilClosed(socket))
    assert.ok(!rest.subarray(-5).equals(Buffer.from('0\r\n\r\n')), 'the zip was cut short, never complete')
  }

  // A search term is bounded: 400 at filters.searchQuery.
  const short = await post(bob, 'count', { filters: { searchQuery: 'ab' } })
  assert.equal(short.status, 400)
  assert.deepEqual((await short.json()).issues.map((i) => i.path), ['filters.searchQuery'])
})
