// The example's two deployments, on real servers: `next start` running its
// export worker from instrumentation.ts; and serverless-style web processes
// (LORA_EXPORT_WORKER=off) with a standalone `scripts/worker.mjs` that shares
// only PostgreSQL and the S3-compatible bucket, plus the cron route that
// vercel.json schedules.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient, transform } from 'lora-export'
import { conversations, createUser, freshDatabase, jsonl, sql } from '../../../bindings-node/test/support.mjs'
import { SECRET, claims, hs256 } from '../../../bindings-node/test/tokens.mjs'
import { appDir, sleep, startNext } from './browser-support.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'
const body = { config: { scope: 'all', format: 'jsonl' } }
const data = conversations(600)

/** A migrated database holding `data`; returns its URL and a client on it. */
async function database(t, options) {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, options)
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  assert.equal((await client.importConversations(jsonl(data))).imported, 600)
  return { url, client }
}

async function waitFor(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The S3 server scripts/s3.sh started, as a deployment's AWS_* variables. */
function s3Env() {
  const need = (name) => {
    const value = process.env[name]
    if (!value) throw new Error(`${name} is not set: start the S3 server with \`eval "$(bash scripts/s3.sh start DIR)"\``)
    return value
  }
  return {
    LORA_EXPORT_STORAGE_URL: `s3://${need('LORA_EXPORT_TEST_S3_BUCKET')}/d${crypto.randomUUID().slice(0, 6)}`,
    AWS_ENDPOINT_URL: need('LORA_EXPORT_TEST_S3_ENDPOINT'),
    AWS_ACCESS_KEY_ID: need('LORA_EXPORT_TEST_S3_ACCESS_KEY'),
    AWS_SECRET_ACCESS_KEY: need('LORA_EXPORT_TEST_S3_SECRET_KEY'),
    AWS_ALLOW_HTTP: 'true',
  }
}

test('next start runs the worker from instrumentation.ts: a queued export completes with no request to the API', { timeout: 180_000 }, async (t) => {
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-instr-'))
  const { url, client } = await database(t, { storageRoot })
  const user = createUser(url)
  const queued = await client.createExport(user, body)
  assert.equal(queued.status, 'queued', 'enqueued before the server starts')

  const server = await startNext({ DATABASE_URL: url, LORA_EXPORT_STORAGE_ROOT: storageRoot })
  t.after(() => server.stop())
  const status = await waitFor('the export to complete', async () => {
    const s = await client.getStatus(user, queued.export_id)
    return s.status === 'completed' && s
  })
  assert.equal(status.conversation_count, 600)
  const workers = (
    await waitFor('the schedules to run', () => sql(url, 'SELECT DISTINCT worker_id FROM lora_export.export_schedule_runs'))
  ).split('\n')
  assert.ok(workers.length === 1 && workers[0].startsWith('next-'), `the schedules ran in the Next.js process: ${workers}`)
  const download = await client.openDownload(user, queued.export_id)
  const bytes = Buffer.from(await new Response(download.stream).arrayBuffer())
  assert.ok(bytes.equals((await transform(jsonl(data), body)).data))
})

test('serverless: web processes without a worker, a standalone worker on S3, and the cron route', { timeout: 240_000 }, async (t) => {
  const s3 = s3Env()
  const { url, client } = await database(t, {})
  const user = createUser(url)
  const auth = { authorization: `Bearer ${hs256(claims(user, SUPABASE_URL))}` }
  const cronSecret = crypto.randomBytes(24).toString('hex')
  // The web process: files in the bucket, no worker.
  const web = await startNext({
    ...s3,
    DATABASE_URL: url,
    SUPABASE_URL,
    SUPABASE_JWT_SECRET: SECRET,
    LORA_EXPORT_WORKER: 'off',
    CRON_SECRET: cronSecret,
  })
  t.after(() => web.stop())

  const created = await fetch(`${web.base}/api/export/conversations`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  assert.equal(created.status, 202)
  const { export_id: id } = await created.json()
  await sleep(1500)
  const status = async () => (await (await fetch(`${web.base}/api/export/status/${id}`, { headers: auth })).json()).status
  assert.equal(await status(), 'queued', 'the web process runs no worker')

  // The worker: its own directory, an environment of its own (no secrets of the web).
  const workerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-worker-'))
  const worker = spawn(process.execPath, [path.join(appDir, 'scripts/worker.mjs')], {
    cwd: workerDir,
    env: { PATH: process.env.PATH, ...s3, DATABASE_URL: url, LORA_EXPORT_WORKER_ID: 'standalone-1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let workerLog = ''
  worker.stdout.on('data', (d) => (workerLog += d))
  worker.stderr.on('data', (d) => (workerLog += d))
  const exited = new Promise((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })))
  t.after(() => worker.exitCode === null && worker.kill('SIGKILL'))
  await waitFor(`the standalone worker to run the export (log: ${workerLog})`, async () => (await status()) === 'completed')
  assert.match(workerLog, /worker standalone-1: running/)

  const download = await fetch(`${web.base}/api/export/download/${id}`, { headers: auth })
  assert.equal(download.status, 200)
  const bytes = Buffer.from(await download.arrayBuffer())
  assert.ok(bytes.equals((await transform(jsonl(data), body)).data), 'the web process serves the worker’s object')
  assert.deepEqual(fs.readdirSync(workerDir), [], 'nothing on the worker’s disk')

  worker.kill('SIGTERM')
  const end = await exited
  assert.equal(end.code, 0, `the worker stops cleanly on SIGTERM:\n${workerLog}`)
  assert.match(workerLog, /worker standalone-1: stopped \{.*"completed":1/)

  // The cron route: only with the secret; each due period runs once (the
  // worker ran them at its start: forgotten here, so they are due again).
  const cron = (headers) => fetch(`${web.base}/api/cron/maintenance`, { headers })
  assert.equal((await cron({})).status, 401)
  assert.equal((await cron({ authorization: `Bearer ${cronSecret}x` })).status, 401)
  assert.equal((await cron(auth)).status, 401, 'a user’s token is not the cron secret')
  sql(url, 'DELETE FROM lora_export.export_schedule_runs')
  const first = await cron({ authorization: `Bearer ${cronSecret}` })
  assert.equal(first.status, 200)
  const { runs } = await first.json()
  assert.deepEqual(runs.map((r) => r.task).sort(), ['cleanup_files', 'expire_exports', 'purge_logs'])
  assert.ok(runs.every((r) => r.worker_id === 'vercel-cron' && r.error === null))
  assert.deepEqual((await (await cron({ authorization: `Bearer ${cronSecret}` })).json()).runs, [], 'once per period')
  const vercel = JSON.parse(fs.readFileSync(path.join(appDir, 'vercel.json'), 'utf8'))
  assert.deepEqual(vercel.crons.map((c) => c.path), ['/api/cron/maintenance'], 'vercel.json schedules this route')


  // Without CRON_SECRET the route refuses every call.
  const open = await startNext({ DATABASE_URL: url, LORA_EXPORT_WORKER: 'off' })
  t.after(() => open.stop())
  assert.equal((await fetch(`${open.base}/api/cron/maintenance`)).status, 503)
})
