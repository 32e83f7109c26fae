// Compressed single-file exports (`compression: 'gzip' | 'zstd'`) through
// ExportClient, lora-export/next's routes and `transform`, against a real
// PostgreSQL: the stored file is the compressed one (name with `.gz`/`.zst`,
// its MIME type, the history's size and SHA-256 are of its bytes), and it
// decompresses to the uncompressed export of the same request. gzip is read
// with node:zlib; Node 20's zlib has no zstd, so zstd is read by the `zstd`
// command.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { ExportClient, transform } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl, readAll } from './support.mjs'
import { SECRET, claims, hs256 } from './tokens.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')
const decompress = (compression, bytes) =>
  compression === 'gzip' ? zlib.gunzipSync(bytes) : execFileSync('zstd', ['-dc'], { input: bytes, maxBuffer: 1 << 28 })
const MIME = { gzip: 'application/gzip', zstd: 'application/zstd' }
const SUFFIX = { gzip: '.gz', zstd: '.zst' }

test('a compressed export is stored, hashed and served as the compressed file', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-compress-'))
  const client = await ExportClient.connect(url, { storageRoot, syncThreshold: 20, supabaseUrl: SUPABASE_URL, jwtSecret: SECRET })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const data = conversations(30, (i) => (i < 5 ? 'edge_case' : 'template'))
  await client.importConversations(jsonl(data))
  const user = createUser(url)

  // gzip runs now (5 conversations), zstd is queued (30) and run by a worker.
  const cases = [
    ['gzip', { config: { scope: 'filtered', format: 'jsonl' }, filters: { tierTypes: ['edge_case'] } }],
    ['zstd', { config: { scope: 'all', format: 'csv' } }],
  ]
  for (const [compression, plain] of cases) {
    const created = await client.createExport(user, { ...plain, compression })
    if (created.status === 'queued') await client.runWorker({ maxJobs: 1, pollIntervalMs: 50, maintenance: false })
    const download = await client.openDownload(user, created.export_id)
    assert.equal(download.contentType, MIME[compression])
    assert.ok(download.fileName.endsWith(`.${plain.config.format}${SUFFIX[compression]}`), download.fileName)
    const bytes = await readAll(download.stream)
    const logged = (await client.listHistory(user)).items[0]
    assert.equal(logged.export_id, created.export_id)
    assert.equal(logged.file_sha256, sha256(bytes), 'the history holds the hash of the bytes downloaded')
    assert.equal(logged.file_size, bytes.length)
    assert.equal(download.sha256, sha256(bytes))
    const uncompressed = await transform(jsonl(data), plain, { exportDate: logged.timestamp })
    assert.ok(!bytes.equals(uncompressed.data), `${compression}: stored compressed`)
    assert.ok(decompress(compression, bytes).equals(uncompressed.data), `${compression} decompresses to the plain export`)
  }
  await assert.rejects(
    client.createExport(user, { ...cases[0][1], compression: 'brotli' }),
    (e) => e.status === 400 && e.issues[0].path === 'compression',
  )

  // The route handlers: created, then downloaded as an attachment named with the suffix.
  const auth = { authorization: `Bearer ${hs256(claims(user, SUPABASE_URL))}` }
  const routes = exportRoutes({ client: async () => client, basePath: '/x/export' })
  const body = { ...cases[0][1], compression: 'gzip' }
  const post = await routes.create.POST(new Request('http://localhost/x', { method: 'POST', headers: auth, body: JSON.stringify(body) }), { params: Promise.resolve({}) })
  assert.equal(post.status, 201)
  const created = await post.json()
  assert.ok(created.file_name.endsWith('.jsonl.gz'))
  const get = await routes.download.GET(new Request(`http://localhost/x/export/download/${created.export_id}`, { headers: auth }), { params: Promise.resolve({ id: created.export_id }) })
  assert.equal(get.status, 200)
  assert.equal(get.headers.get('content-type'), 'application/gzip')
  assert.equal(get.headers.get('content-encoding'), null, 'served as a .gz file, not decoded on the way')
  assert.match(get.headers.get('content-disposition'), /^attachment; filename="[^"]+\.jsonl\.gz"/)
  const served = Buffer.from(await get.arrayBuffer())
  assert.equal(sha256(served), created.sha256)
  const refused = await routes.create.POST(new Request('http://localhost/x', { method: 'POST', headers: auth, body: JSON.stringify({ ...body, compression: 'lz4' }) }), { params: Promise.resolve({}) })
  assert.equal(refused.status, 400)
  assert.equal((await refused.json()).issues[0].path, 'compression')
})

test('transform compresses in memory as the service does', async () => {
  const data = conversations(4)
  const request = { config: { scope: 'all_data', format: 'jsonl' } }
  const exportDate = '2026-01-01T00:00:00Z'
  const plain = await transform(jsonl(data), request, { exportDate })
  for (const compression of ['gzip', 'zstd']) {
    const packed = await transform(jsonl(data), { ...request, compression }, { exportDate })
    assert.equal(packed.summary.sha256, sha256(packed.data))
    assert.equal(packed.summary.bytes, packed.data.length)
    assert.equal(packed.mimeType, MIME[compression])
    assert.ok(decompress(compression, packed.data).equals(plain.data), compression)
  }
})
