// client.download and the lora-export/next download route as HTTP answers
// them: one Range as 206 (416 outside the file, with its size), HEAD not
// counted, and — on the S3-compatible server scripts/s3.sh starts — a 302
// to a presigned URL that a plain fetch without credentials follows.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { ExportClient, transform } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl, readAll } from './support.mjs'

const body = { config: { scope: 'all', format: 'jsonl' } }
const data = conversations(30)

/** The test server's settings as a deployment's AWS_* variables (read by connect). */
function useS3() {
  const need = (name) => {
    const value = process.env[name]
    if (!value) throw new Error(`${name} is not set: start the S3 server with \`eval "$(bash scripts/s3.sh start DIR)"\``)
    return value
  }
  process.env.AWS_ENDPOINT_URL = need('LORA_EXPORT_TEST_S3_ENDPOINT')
  process.env.AWS_ACCESS_KEY_ID = need('LORA_EXPORT_TEST_S3_ACCESS_KEY')
  process.env.AWS_SECRET_ACCESS_KEY = need('LORA_EXPORT_TEST_S3_SECRET_KEY')
  process.env.AWS_ALLOW_HTTP = 'true'
  return `s3://${need('LORA_EXPORT_TEST_S3_BUCKET')}/n${randomUUID().slice(0, 6)}`
}

async function setUp(t, options) {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, options)
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(data))
  const user = createUser(url)
  const created = await client.createExport(user, body)
  assert.equal(created.status, 'completed')
  const expected = (await transform(jsonl(data), body)).data
  return { client, user, id: created.export_id, expected }
}

const downloads = async (client, user) => (await client.listHistory(user)).items[0].download_count

test('download: a range is a 206 of those bytes, HEAD has no stream, neither counted past the first byte', async (t) => {
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-dl-'))
  const { client, user, id, expected } = await setUp(t, { storageRoot })

  const whole = await client.download(user, id)
  assert.equal(whole.status, 200)
  assert.equal(whole.contentLength, expected.length)
  assert.equal(whole.contentRange, null)
  assert.equal(whole.redirect, null, 'local storage never redirects')
  assert.ok((await readAll(whole.stream)).equals(expected))
  assert.equal(await downloads(client, user), 1)

  const tail = await client.download(user, id, { range: 'bytes=100-199' })
  assert.equal(tail.status, 206)
  assert.equal(tail.contentLength, 100)
  assert.equal(tail.contentRange, `bytes 100-199/${expected.length}`)
  assert.ok((await readAll(tail.stream)).equals(expected.subarray(100, 200)))
  const suffix = await client.download(user, id, { range: 'bytes=-10' })
  assert.ok((await readAll(suffix.stream)).equals(expected.subarray(expected.length - 10)))
  assert.equal(await downloads(client, user), 1, 'the rest of a download is not another one')
  const first = await client.download(user, id, { range: 'bytes=0-9' })
  assert.equal(first.status, 206)
  await readAll(first.stream)
  assert.equal(await downloads(client, user), 2, 'a range from the first byte starts a download')

  const head = await client.download(user, id, { head: true })
  assert.equal(head.status, 200)
  assert.equal(head.stream, null)
  assert.equal(head.contentLength, expected.length)
  assert.equal(await downloads(client, user), 2, 'HEAD is not counted')

  await assert.rejects(client.download(user, id, { range: `bytes=${expected.length}-` }), (e) => e.status === 416 && e.code === 'RANGE_NOT_SATISFIABLE' && e.size === expected.length)
  await assert.rejects(client.download(user, id, { ranges: 'bytes=0-1' }), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('ranges'))
  await assert.rejects(client.download(user, id, { head: 'yes' }), (e) => e.code === 'CONFIG_ERROR')
  await assert.rejects(client.download(randomUUID(), id), (e) => e.status === 403, 'another user')

  // The route: Range → 206 with Content-Range, outside → 416 `bytes */SIZE`.
  const routes = exportRoutes({ client, session: () => user })
  const get = (headers = {}, method = 'GET') =>
    routes.download[method](new Request(`http://localhost/api/export/download/${id}`, { method, headers }), { params: Promise.resolve({ id }) })
  const partial = await get({ range: 'bytes=5-14' })
  assert.equal(partial.status, 206)
  assert.equal(partial.headers.get('content-range'), `bytes 5-14/${expected.length}`)
  assert.equal(partial.headers.get('accept-ranges'), 'bytes')
  assert.ok(Buffer.from(await partial.arrayBuffer()).equals(expected.subarray(5, 15)))
  const outside = await get({ range: `bytes=${expected.length + 5}-` })
  assert.equal(outside.status, 416)
  assert.equal(outside.headers.get('content-range'), `bytes */${expected.length}`)
  assert.equal((await outside.json()).error, 'RANGE_NOT_SATISFIABLE')
  const several = await get({ range: 'bytes=0-1,5-6' })
  assert.equal(several.status, 200, 'several ranges: the whole file, as RFC 9110 allows')
  assert.ok(Buffer.from(await several.arrayBuffer()).equals(expected))
  const headed = await get({}, 'HEAD')
  assert.equal(headed.status, 200)
  assert.equal(headed.body, null)
})

test('download on object storage: a 302 to a presigned URL a plain fetch follows; tampered, it is refused', async (t) => {
  const storageUrl = useS3()
  const { client, user, id, expected } = await setUp(t, { storageUrl, downloads: 'redirect', presignTtlSecs: 60 })

  const answer = await client.download(user, id)
  assert.equal(answer.status, 302, 'downloads: redirect is the default of the client')
  assert.equal(answer.stream, null)
  assert.equal(answer.contentLength, 0)
  const expiresIn = Date.parse(answer.redirect.expiresAt) - Date.now()
  assert.ok(expiresIn > 0 && expiresIn <= 60_000, `expires within the TTL (${expiresIn} ms)`)
  const fetched = await fetch(answer.redirect.url)
  assert.equal(fetched.status, 200)
  assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(expected))
  const tampered = answer.redirect.url.replace(/X-Amz-Signature=([0-9a-f])/, (_, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`)
  assert.notEqual(tampered, answer.redirect.url)
  assert.equal((await fetch(tampered)).status, 403)
  assert.equal(await downloads(client, user), 1, 'a redirect is counted like a download')

  const streamed = await client.download(user, id, { redirect: false, range: 'bytes=0-99' })
  assert.equal(streamed.status, 206, 'redirect: false streams, ranges served from the bucket')
  assert.ok((await readAll(streamed.stream)).equals(expected.subarray(0, 100)))
  const head = await client.download(user, id, { head: true })
  assert.equal(head.status, 200, 'HEAD never redirects')
  assert.equal(head.redirect, null)

  const routes = exportRoutes({ client, session: () => user })
  const request = new Request(`http://localhost/api/export/download/${id}`)
  const redirect = await routes.download.GET(request, { params: Promise.resolve({ id }) })
  assert.equal(redirect.status, 302)
  assert.equal(redirect.headers.get('cache-control'), 'private, no-store')
  const followed = await fetch(redirect.headers.get('location'))
  assert.ok(Buffer.from(await followed.arrayBuffer()).equals(expected))
  assert.equal(await downloads(client, user), 3)
})
