// The export worker of a long-running `next start`, started once per server
// process by instrumentation.ts: it runs queued exports (woken by LISTEN/
// NOTIFY when one is enqueued, polling every 5 s as a fallback) and the
// maintenance schedules, until the process ends. A database outage does not
// end it: each failure is logged (a JSON line on stderr) and it backs off.
import { exportClient } from './export'

declare global {
  var loraExportWorker: Promise<void> | undefined
}

/** Starts this process's worker (once). */
export function startWorker(): void {
  const throttleMs = Number(process.env.LORA_EXPORT_WORKER_THROTTLE_MS ?? 0) || undefined
  globalThis.loraExportWorker ??= exportClient()
    .then((client) => client.runWorker({ workerId: `next-${process.pid}`, throttleMs }))
    .then(
      (report) => console.log('export worker stopped:', report),
      (e) => console.error('export worker failed:', e),
    )
}
