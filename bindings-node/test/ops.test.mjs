// Operations (issue 37) through the Node binding and lora-export/next
// against PostgreSQL: NO_CONVERSATIONS, the quotas with their retryAfter
// (and Retry-After from the routes), and the metrics route — its secret,
// and a scrape read strictly as the Prometheus text format.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl } from './support.mjs'

const params = { params: Promise.resolve({}) }

async function setup(t, options = {}) {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-ops-'))
  const client = await ExportClient.connect(url, { storageRoot, ...options })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(conversations(6)))
  const user = createUser(url)
  const routes = exportRoutes({ client, session: async () => user })
  const post = (body) =>
    routes.create.POST(new Request('http://localhost/api/export/conversations', {
      method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: JSON.stringify(body),
    }), params)
  return { client, user, routes, post }
}

const all = { config: { scope: 'all', format: 'jsonl' } }

test('an export that selects nothing is 400 NO_CONVERSATIONS from the client and the route', async (t) => {
  const { client, user, post } = await setup(t)
  const nothing = { config: { scope: 'selected', format: 'jsonl' }, conversationIds: ['no-such-id'] }
  await assert.rejects(client.createExport(user, nothing), (e) => e.code === 'NO_CONVERSATIONS' && e.status === 400)
  const answer = await post(nothing)
  assert.equal(answer.status, 400)
  assert.equal((await answer.json()).error, 'NO_CONVERSATIONS')
  assert.equal((await client.listHistory(user)).total, 0, 'nothing logged')
})

test('the quotas answer their codes, and 429s carry retryAfter and Retry-After', async (t) => {
  const { client, user, post } = await setup(t, { maxConversations: 5, syncThreshold: 1, maxJobsPerUser: 1 })
  await assert.rejects(client.createExport(user, all), (e) => e.code === 'EXPORT_TOO_LARGE' && e.status === 413)
  const three = { config: { scope: 'selected', format: 'jsonl' }, conversationIds: ['conv-0000001', 'conv-0000002', 'conv-0000003'] }
  assert.equal((await client.createExport(user, three)).http_status, 202)
  await assert.rejects(client.createExport(user, three), (e) => e.code === 'QUEUE_FULL' && e.status === 429 && e.retryAfter === 30)
  const answer = await post(three)
  assert.equal(answer.status, 429)
  assert.equal(answer.headers.get('retry-after'), '30')
  const body = await answer.json()
  assert.equal(body.retry_after, 30)
  assert.equal(body.error, 'QUEUE_FULL')
})

/** Samples of `text`, read strictly: HELP/TYPE lines, declared families, escaped labels, numbers. */
function parse(text) {
  assert.ok(text.endsWith('\n'))
  const types = new Map()
  const samples = []
  for (const line of text.trimEnd().split('\n')) {
    let m
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line))) {
      assert.ok(!types.has(m[1]), `declared twice: ${line}`)
      types.set(m[1], m[2])
      continue
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S/.test(line)) continue
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/.exec(line)
    assert.ok(m, `not a sample: ${line}`)
    const value = m[3] === '+Inf' ? Infinity : Number(m[3])
    assert.ok(!Number.isNaN(value), line)
    const family = types.get(m[1].replace(/_(bucket|sum|count)$/, '')) === 'histogram' ? m[1].replace(/_(bucket|sum|count)$/, '') : m[1]
    assert.ok(types.has(family), `sample before its TYPE: ${line}`)
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]))
    samples.push({ name: m[1], labels, value })
  }
  return samples
}

test('the metrics route: 404 unset, 401 without the secret, the Prometheus text with it', async (t) => {
  const { client, user, routes, post } = await setup(t)
  const scrape = (authorization) =>
    routes.metrics.GET(new Request('http://localhost/api/export/metrics', { headers: authorization ? { authorization } : {} }), params)
  const saved = process.env.LORA_EXPORT_METRICS_SECRET
  t.after(() => {
    if (saved === undefined) delete process.env.LORA_EXPORT_METRICS_SECRET
    else process.env.LORA_EXPORT_METRICS_SECRET = saved
  })
  delete process.env.LORA_EXPORT_METRICS_SECRET
  assert.equal((await scrape('Bearer anything')).status, 404)
  process.env.LORA_EXPORT_METRICS_SECRET = 'a-metrics-secret-of-some-length'
  assert.equal((await scrape()).status, 401)
  const wrong = await scrape('Bearer a-metrics-secret-of-some-lengtH')
  assert.equal(wrong.status, 401)
  assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="metrics"')

  assert.equal((await post({ config: { scope: 'all', format: 'csv' } })).status, 201)
  assert.equal((await post({ config: { scope: 'selected', format: 'csv' }, conversationIds: ['none'] })).status, 400)
  const answer = await scrape('Bearer a-metrics-secret-of-some-length')
  assert.equal(answer.status, 200)
  assert.equal(answer.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  const samples = parse(await answer.text())
  const find = (name, labels = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
  assert.equal(find('lora_export_exports', { format: 'csv', status: 'completed' }), 1)
  assert.ok(find('lora_export_storage_bytes') > 0)
  assert.equal(find('lora_export_requests_total', { route: 'create', status: '2xx' }), 1)
  assert.equal(find('lora_export_requests_total', { route: 'create', status: '4xx' }), 1)
  assert.equal(find('lora_export_request_duration_seconds_count', { route: 'create' }), 2)
  const metrics = await client.metrics(new Date(Date.now() - 3600_000))
  assert.equal(metrics.storage_bytes, find('lora_export_storage_bytes'), 'the same numbers as metrics()')
  assert.equal(metrics.requests.find((r) => r.route === 'create').latency.count, 2)
  void user
})
