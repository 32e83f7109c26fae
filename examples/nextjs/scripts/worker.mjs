// A standalone export worker, for deployments whose routes are serverless
// (Vercel) or that run several web instances: it shares nothing with the web
// processes but the database and the file store (LORA_EXPORT_STORAGE_URL, an
// s3:// bucket with the AWS_* variables, when they are on other hosts).
// It runs queued exports — woken by LISTEN/NOTIFY when one is enqueued,
// polling every 5 s as a fallback — and the maintenance schedules, until
// SIGTERM or SIGINT, then finishes its current job and prints its report.
//
//   DATABASE_URL=postgres://… [LORA_EXPORT_STORAGE_URL=s3://bucket/prefix] node scripts/worker.mjs
//
// Start as many as the load needs: each job runs once, on one of them.
import os from 'node:os'
import { ExportClient } from 'lora-export'

const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('worker: set DATABASE_URL to the database the app uses (postgres://…)')
  process.exit(2)
}
const workerId = process.env.LORA_EXPORT_WORKER_ID ?? `worker-${os.hostname()}-${process.pid}`
const client = await ExportClient.connect(databaseUrl)
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    console.log(`worker ${workerId}: ${signal}, stopping after the current job`)
    client.stopWorkers()
  })
}
console.log(`worker ${workerId}: running`)
try {
  const report = await client.runWorker({ workerId })
  console.log(`worker ${workerId}: stopped ${JSON.stringify(report)}`)
} finally {
  client.close()
}
