// Errors an operator can see and a client that survives a blip, against a
// real PostgreSQL: connect never rejects for an unreachable database (a TCP
// proxy in front of the cluster, down, then up, then cut and restored), the
// cause reaches migrate's error, health() and onError; a 500 of the library
// reaches exportRoutes' onError with the error id the client got; a failed
// background attempt is a JSON line on a child process's stderr; onEvent
// receives the metric events.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl, sql } from './support.mjs'

const storageRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-errors-'))

/** A TCP proxy in front of `url`'s server: `up` forwards, `down` drops every connection. */
async function proxy(url) {
  const target = new URL(url)
  const sockets = new Set()
  let up = false
  const server = net.createServer((inbound) => {
    if (!up) return inbound.destroy()
    const outbound = net.connect(Number(target.port), target.hostname)
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxied = new URL(url)
  proxied.port = String(server.address().port)
  return {
    url: proxied.toString(),
    up: () => { up = true },
    down: () => {
      up = false
      for (const s of sockets) s.destroy()
    },
    close: () => server.close(),
  }
}

/** Polls `check` every 100 ms until it holds (at most `ms`). */
async function eventually(ms, what, check) {
  const until = Date.now() + ms
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('connect never rejects for an unreachable database; the client serves once it is back', async (t) => {
  const url = freshDatabase()
  const p = await proxy(url)
  t.after(() => p.close())
  const reports = []
  const client = await ExportClient.connect(p.url, { storageRoot: storageRoot(), onError: (r) => reports.push(r) })
  t.after(() => client.close())

  await assert.rejects(client.migrate({ supabaseStandIns: true }), (e) => {
    assert.equal(e.code, 'DATABASE_ERROR')
    assert.ok(!e.message.includes('the detail is in the server log'), `migrate names the cause: ${e.message}`)
    assert.match(e.errorId, /^[0-9a-f-]{36}$/)
    return true
  })
  const health = await client.health()
  assert.deepEqual([health.ok, health.database], [false, false])
  assert.match(health.problem, /^DATABASE_ERROR \(error id /)
  await eventually(2000, 'the reports', async () => reports.length >= 2)
  assert.deepEqual(reports.map((r) => r.operation).sort(), ['health', 'migrate'])
  assert.ok(reports.every((r) => r.detail.length > 0 && health.problem.includes(r.error_id) === (r.operation === 'health')))

  p.up()
  assert.ok((await client.migrate({ supabaseStandIns: true })).length > 0, 'the same client migrates once the database is up')
  assert.equal((await client.health()).ok, true)
  await client.importConversations(jsonl(conversations(3)))
  const user = createUser(url)
  const created = await client.createExport(user, { config: { scope: 'all', format: 'jsonl' } })

  p.down()
  await assert.rejects(client.getStatus(user, created.export_id), (e) => e.status >= 500)
  p.up()
  await eventually(10000, 'the pool to reconnect', async () => (await client.getStatus(user, created.export_id)).status === 'completed')
})

test('a 500 of the library reaches onError with the error id the client got', async (t) => {
  const url = freshDatabase()
  const reports = []
  const client = await ExportClient.connect(url, { storageRoot: storageRoot(), onError: (r) => reports.push(r) })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const user = createUser(url)
  sql(url, 'ALTER TABLE lora_export.export_logs RENAME COLUMN file_sha256 TO file_sha256_gone')
  const failures = []
  const routes = exportRoutes({ client, session: async () => user, onError: (error, context) => failures.push({ error, context }) })
  const answer = await routes.history.GET(new Request('http://localhost/api/export/history'), { params: Promise.resolve({}) })
  assert.equal(answer.status, 500)
  const body = await answer.json()
  assert.equal(body.error, 'DATABASE_ERROR')
  assert.match(body.error_id, /^[0-9a-f-]{36}$/)
  assert.ok(body.message.includes(body.error_id) && !body.message.includes('file_sha256'), body.message)
  assert.equal(failures.length, 1, 'the library\'s own 500 reaches onError')
  assert.equal(failures[0].context.errorId, body.error_id)
  assert.equal(failures[0].error.errorId, body.error_id)
  await eventually(2000, 'the report', async () => reports.length === 1)
  assert.equal(reports[0].error_id, body.error_id)
  assert.match(reports[0].detail, /file_sha256/, 'the operator gets the cause under the same id')

  const foreign = exportRoutes({ client: async () => { throw new Error('pool on fire') }, onError: (error, context) => failures.push({ error, context }) })
  const broken = await foreign.history.GET(new Request('http://localhost/api/export/history'), { params: Promise.resolve({}) })
  const brokenBody = await broken.json()
  assert.equal(broken.status, 500)
  assert.equal(failures.at(-1).context.errorId, brokenBody.error_id)
  assert.ok(!brokenBody.message.includes('fire'))
})

test('a failed background attempt is one JSON line on the worker process\'s stderr', async (t) => {
  const url = freshDatabase()
  const root = storageRoot()
  const events = []
  const client = await ExportClient.connect(url, { storageRoot: root, syncThreshold: 5, onEvent: (e) => events.push(e) })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(conversations(8)))
  const user = createUser(url)
  sql(url, `CREATE FUNCTION public.refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.status = 'completed' THEN RAISE EXCEPTION 'No space left on device'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER refuse_completion BEFORE UPDATE ON lora_export.export_logs
      FOR EACH ROW EXECUTE FUNCTION public.refuse_completion()`)
  const queued = await client.createExport(user, { config: { scope: 'all', format: 'jsonl' } })
  assert.equal(queued.status, 'queued')
  await eventually(2000, 'the created event', async () => events.length === 1)
  assert.deepEqual([events[0].status, events[0].export_id, events[0].conversation_count], ['created', queued.export_id, 8])

  const here = path.dirname(fileURLToPath(import.meta.url))
  const script = `const { ExportClient } = require('lora-export')
    ExportClient.connect(process.argv[1], { storageRoot: process.argv[2] })
      .then((c) => c.runWorker({ maxJobs: 1, listen: false, maintenance: false }).then(() => c.close()))`
  const stderr = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, url, root], { cwd: here }, (error, _out, err) => (error ? reject(error) : resolve(err)))
  })
  const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  const line = lines.find((l) => l.export_id === queued.export_id)
  assert.ok(line, `a JSON line for the attempt: ${stderr}`)
  assert.deepEqual([line.source, line.operation, line.attempt, line.code], ['lora-export', 'run_worker', 1, 'DATABASE_ERROR'])
  assert.match(line.error_id, /^[0-9a-f-]{36}$/)
  assert.match(line.detail, /No space left on device/)
})
