// ExportClient against a real PostgreSQL: every method, the shapes of what
// they answer (the keys index.d.ts declares), and the errors a route maps.
import test from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient, transform } from 'lora-export'
import { conversations, createUser, emptyDatabase, freshDatabase, jsonl, readAll, sql } from './support.mjs'

const keys = (o) => Object.keys(o).sort()
const LOG_KEYS = ['id', 'export_id', 'user_id', 'timestamp', 'format', 'config', 'conversation_count', 'file_size', 'status', 'file_url', 'expires_at', 'error_message', 'created_at', 'updated_at', 'file_sha256', 'download_count', 'last_downloaded_at']

test('ExportClient: the whole lifecycle against PostgreSQL', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-'))
  const client = await ExportClient.connect(url, { storageRoot, syncThreshold: 50, batchSize: 20, poolSize: 4 })
  t.after(() => client.close())

  const versions = await client.migrate({ supabaseStandIns: true })
  assert.ok(versions.length >= 6)
  assert.deepEqual(await client.migrate(), [], 'migrations apply once')

  const data = conversations(80, (i) => (i < 10 ? 'edge_case' : 'template'))
  const file = path.join(storageRoot, 'input.jsonl')
  fs.writeFileSync(file, jsonl(data.slice(0, 40)))
  assert.deepEqual(await client.importConversations(file), { imported: 40, skipped: [] })
  const imported = await client.importConversations(Buffer.concat([jsonl(data.slice(40)), Buffer.from('{"broken\n')]))
  assert.equal(imported.imported, 40)
  assert.equal(imported.skipped[0].location.line, 41)
  await assert.rejects(client.importConversations('/no/such/file.jsonl'), (e) => e.code === 'IO_ERROR')

  const user = createUser(url)
  const other = createUser(url)

  // Small: done at once (201), downloadable, byte-identical to transform.
  const small = { config: { scope: 'filtered', format: 'csv' }, filters: { tierTypes: ['edge_case'] } }
  const created = await client.createExport(user, small)
  assert.equal(created.status, 'completed', 'status is the export status, as in getStatus')
  assert.equal(created.http_status, 201)
  assert.deepEqual(keys(created), keys({ http_status: 0, status: 0, export_id: 0, file_name: 0, file_size: 0, sha256: 0, expires_at: 0, conversation_count: 0, summary: 0 }))
  assert.equal(created.conversation_count, 10)
  const download = await client.openDownload(user, created.export_id)
  assert.deepEqual(keys(download), ['contentDisposition', 'contentLength', 'contentRange', 'contentType', 'exportId', 'fileName', 'idleTimeoutSecs', 'redirect', 'sha256', 'size', 'status', 'stream'])
  assert.ok(download.stream instanceof ReadableStream)
  const bytes = await readAll(download.stream)
  const core = await transform(jsonl(data), small)
  assert.ok(bytes.equals(core.data), 'the download is the core output for the same data')
  assert.equal(download.size, bytes.length)
  assert.equal(download.sha256, core.summary.sha256)
  assert.equal(download.contentType, core.mimeType)
  assert.equal(download.fileName, created.file_name)

  // Large: queued (202), a worker runs it, status shows it completed.
  const queued = await client.createExport(user, { config: { scope: 'all', format: 'jsonl' } })
  assert.deepEqual(queued, { status: 'queued', http_status: 202, export_id: queued.export_id })
  const waiting = await client.getStatus(user, queued.export_id)
  assert.equal(waiting.status, 'queued')
  assert.equal(waiting.progress, 0)
  const report = await client.runWorker({ maxJobs: 1, pollIntervalMs: 50, maintenance: false })
  assert.deepEqual(keys(report), ['claimed', 'completed', 'errors', 'failed', 'last_error', 'maintenance_runs', 'retried', 'stopped'])
  assert.equal(report.maintenance_runs, 0, 'maintenance: false')
  assert.equal(report.completed, 1)
  const done = await client.getStatus(user, queued.export_id)
  assert.equal(done.status, 'completed')
  assert.equal(done.progress, 100)
  assert.equal(done.conversation_count, 80)
  for (const key of keys(done)) assert.ok(['export_id', 'status', 'progress', 'conversation_count', 'file_size', 'file_url', 'file_name', 'error_message', 'expires_at'].includes(key), key)
  const large = await readAll((await client.openDownload(user, queued.export_id)).stream)
  assert.ok(large.equals((await transform(jsonl(data), { scope: 'all', format: 'jsonl' })).data))

  // History: pages and filters; items are ExportLog rows.
  const page = await client.listHistory(user, { limit: 1 })
  assert.deepEqual(keys(page), ['hasNext', 'hasPrev', 'items', 'limit', 'page', 'total', 'totalPages'])
  assert.equal(page.total, 2)
  assert.equal(page.totalPages, 2)
  assert.equal(page.hasNext, true)
  assert.deepEqual(keys(page.items[0]), [...LOG_KEYS, 'downloadable', 'file_name'].sort())
  assert.equal(page.items[0].export_id, queued.export_id, 'newest first')
  assert.equal((await client.listHistory(user, { format: 'csv' })).total, 1)
  assert.equal((await client.listHistory(user)).items.length, 2)
  await assert.rejects(client.listHistory(user, { limit: 101 }), (e) => e.status === 400 && e.issues[0].path === 'limit')
  await assert.rejects(client.listHistory(user, { colour: 'red' }), (e) => e.status === 400)

  // Errors a route maps straight to its answer.
  await assert.rejects(client.getStatus(other, created.export_id), (e) => e.code === 'FORBIDDEN' && e.status === 403)
  await assert.rejects(client.openDownload(other, created.export_id), (e) => e.status === 403)
  await assert.rejects(client.getStatus(user, '00000000-0000-4000-8000-000000000000'), (e) => e.status === 404)
  await assert.rejects(client.getStatus(user, 'not-a-uuid'), (e) => e.status === 404)
  await assert.rejects(client.createExport('', small), (e) => e.status === 401)
  await assert.rejects(client.createExport(user, { config: { scope: 'all' } }), (e) => e.status === 400 && e.issues.length === 1)

  // Delete, cleanup, metrics, processJobs, purge.
  const deleted = await client.deleteExport(user, created.export_id)
  assert.deepEqual(keys(deleted), ['cancelled', 'export_id', 'file_deleted', 'status'])
  assert.equal(deleted.file_deleted, true)
  await assert.rejects(client.openDownload(user, created.export_id), (e) => [404, 410].includes(e.status))
  const cleanup = await client.cleanupExpired()
  assert.deepEqual(keys(cleanup), ['failures', 'files_deleted', 'marked_expired', 'staged_files_deleted'])
  const since = new Date(Date.now() - 3600_000)
  const metrics = await client.metrics(since)
  assert.equal(metrics.completed, 2)
  assert.equal(metrics.since, since.toISOString())
  assert.deepEqual([metrics.oldest_queued_secs, metrics.live_workers], [0, 0])
  assert.equal(typeof metrics.last_worker_seen_at, 'string')
  assert.deepEqual(await client.metrics(since.toISOString()), metrics)
  await assert.rejects(client.metrics('last week'), (e) => e.status === 400)
  assert.equal(await client.processJobs(5), 0)

  // Purge: a finished export older than retentionDays (30) goes, file first.
  assert.deepEqual(await client.purgeOldLogs(), { logs_deleted: 0, audit_events_deleted: 0 })
  sql(url, `UPDATE lora_export.export_logs SET created_at = now() - interval '40 days' WHERE export_id = '${queued.export_id}'`)
  assert.deepEqual(await client.purgeOldLogs(), { logs_deleted: 1, audit_events_deleted: 0 })
  await assert.rejects(client.getStatus(user, queued.export_id), (e) => e.code === 'NOT_FOUND' && e.status === 404)

  // Maintenance by the schedules (the defaults): on this database no task's
  // latest period has run yet; a cron route's call runs each once.
  const runs = await client.runDueMaintenance('node-cron')
  assert.deepEqual(runs.map((r) => r.task).sort(), ['cleanup_files', 'expire_exports', 'purge_logs'])
  assert.ok(runs.every((r) => r.worker_id === 'node-cron' && r.finished_at && r.error === null))
  assert.deepEqual(await client.runDueMaintenance(), [], 'each period runs once')
  assert.equal((await client.metrics(since)).maintenance.length, 3)
  await assert.rejects(ExportClient.connect(url, { downloads: 'sideways' }), (e) => e.code === 'CONFIG_ERROR')
})

test('connect is lazy: an unreachable database fails the operation with its cause, a bad option rejects', async () => {
  const client = await ExportClient.connect('postgres://nobody@127.0.0.1:1/none', { onError: null })
  await assert.rejects(client.migrate(), (e) => e.code === 'DATABASE_ERROR' && e.status === 500 && /refused/i.test(e.message))
  client.close()
  await assert.rejects(ExportClient.connect('postgres://x@127.0.0.1/x', { expiryHours: 0 }), (e) => e.code === 'CONFIG_ERROR')
  await assert.rejects(ExportClient.connect('postgres://x@127.0.0.1/x', { onError: 'stderr' }), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('onError'))
})

test('first-run errors: an unmigrated database names migrate(), a bare one the stand-ins, an unknown user is 401, no database text', async (t) => {
  const url = emptyDatabase()
  const client = await ExportClient.connect(url, { storageRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-')) })
  t.after(() => client.close())
  const body = { config: { scope: 'all', format: 'jsonl' } }
  await assert.rejects(client.createExport(randomUUID(), body), (e) => e.code === 'DATABASE_NOT_MIGRATED' && e.status === 500 && e.message.includes('migrate()'))
  await assert.rejects(client.migrate(), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('auth.users') && e.message.includes('migrate({ supabaseStandIns: true })'))
  await assert.rejects(client.migrate({ supabaseStandins: true }), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('supabaseStandins'))
  await client.migrate({ supabaseStandIns: true })
  await assert.rejects(client.createExport(randomUUID(), body), (e) => e.code === 'UNKNOWN_USER' && e.status === 401 && !e.message.includes('constraint'))
})

test('stopWorkers ends a running worker', async (t) => {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, { storageRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-')) })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const running = client.runWorker({ pollIntervalMs: 20 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  client.stopWorkers()
  const report = await running
  assert.equal(report.claimed, 0)
})
