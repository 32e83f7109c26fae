// lora-export/next without Next.js: the handlers called with web Requests
// (and the Pages download with a real node:http server) against a real
// client and PostgreSQL — options checked, every error JSON, Content-Length
// and HEAD on the Pages route.
import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient, transform } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl } from './support.mjs'
import { SECRET, claims, hs256, ssrCookie } from './tokens.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'

test('exportRoutes refuses unknown or mistyped options', () => {
  const client = {}
  assert.throws(() => exportRoutes({ client, sesion: () => {} }), /unknown option `sesion`/)
  assert.throws(() => exportRoutes({}), /`client` is required/)
  assert.throws(() => exportRoutes({ client, basePath: 'api' }), /`basePath` must be a path/)
  assert.throws(() => exportRoutes({ client, onError: 'log' }), /`onError` must be a function/)
  assert.throws(() => exportRoutes(null), /options object/)
  assert.throws(() => exportRoutes({ client, maxBodyBytes: 0 }), /`maxBodyBytes` must be a whole number/)
  assert.throws(() => exportRoutes({ client, allowedOrigins: ['app.example'] }), /`allowedOrigins` must be an array of origins/)
})

test('the handlers answer JSON, sign in first, and the Pages download keeps Content-Length', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-next-'))
  const client = await ExportClient.connect(url, { storageRoot, supabaseUrl: SUPABASE_URL, jwtSecret: SECRET })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const data = conversations(12, (i) => (i % 3 ? 'template' : 'scenario'))
  await client.importConversations(jsonl(data))
  const user = createUser(url)
  const auth = { authorization: `Bearer ${hs256(claims(user, SUPABASE_URL))}` }
  const failures = []
  const routes = exportRoutes({ client: async () => client, basePath: '/x/export', onError: (e) => failures.push(e) })
  const request = (method, body, headers = auth, query = '') =>
    new Request(`http://localhost/x${query}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })

  const anonymous = await routes.count.POST(request('POST', {}, {}), { params: Promise.resolve({}) })
  assert.equal(anonymous.status, 401)
  assert.equal((await anonymous.json()).error, 'INVALID_TOKEN')

  const counts = await routes.count.POST(request('POST', { filters: { tierTypes: ['scenario'] } }), { params: Promise.resolve({}) })
  assert.deepEqual(await counts.json(), { selected: 0, filtered: 4, all: 12, all_data: 12 })

  // A cookie-authenticated POST from another origin is refused unless that origin is allowed.
  const cookie = { cookie: ssrCookie(SUPABASE_URL, hs256(claims(user, SUPABASE_URL))), 'content-type': 'application/json' }
  const shared = exportRoutes({ client, allowedOrigins: ['https://app.example'] })
  const from = (origin) => new Request('http://localhost/x', { method: 'POST', headers: { ...cookie, origin }, body: '{}' })
  assert.equal((await shared.count.POST(from('https://app.example'), { params: Promise.resolve({}) })).status, 200)
  const other = await shared.count.POST(from('https://other.example'), { params: Promise.resolve({}) })
  assert.equal(other.status, 403)
  assert.equal((await other.json()).error, 'CROSS_SITE_REQUEST')

  const body = { config: { scope: 'filtered', format: 'jsonl' }, filters: { tierTypes: ['scenario'] } }
  const created = await routes.create.POST(request('POST', body), { params: Promise.resolve({}) })
  assert.equal(created.status, 201)
  const result = await created.json()
  assert.equal(result.download_url, `/x/export/download/${result.export_id}`)

  const broken = exportRoutes({ client: async () => { throw new Error('pool on fire') }, onError: (e) => failures.push(e) })
  const internal = await broken.history.GET(request('GET'), { params: Promise.resolve({}) })
  assert.equal(internal.status, 500)
  const internalBody = await internal.json()
  assert.deepEqual(internalBody, { error: 'INTERNAL_ERROR', message: `internal error (error id ${internalBody.error_id})`, error_id: internalBody.error_id })
  assert.equal(failures.at(-1).message, 'pool on fire', 'the detail goes to onError, not to the client')

  const server = http.createServer((req, res) => {
    req.query = { id: req.url.split('/').at(-1) }
    routes.pagesDownload(req, res)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const at = `http://127.0.0.1:${server.address().port}/x/export/download/${result.export_id}`
  const expected = (await transform(jsonl(data), body)).data
  const head = await fetch(at, { method: 'HEAD', headers: auth })
  assert.equal(head.status, 200)
  assert.equal(head.headers.get('content-length'), String(expected.length))
  const get = await fetch(at, { headers: auth })
  assert.equal(get.headers.get('content-length'), String(expected.length))
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(expected))
  const ranged = await fetch(at, { headers: { ...auth, range: 'bytes=10-19' } })
  assert.equal(ranged.status, 206)
  assert.equal(ranged.headers.get('content-length'), '10')
  assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${expected.length}`)
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(expected.subarray(10, 20)))
  assert.equal((await fetch(at, { method: 'POST', headers: auth })).status, 405)
  assert.equal((await fetch(at)).status, 401)
  const history = await client.listHistory(user)
  assert.equal(history.items[0].download_count, 1, 'one GET counted; HEAD, a range past the first byte, 405 and 401 not')
  assert.deepEqual(failures.map((e) => e.message), ['pool on fire'])
})
