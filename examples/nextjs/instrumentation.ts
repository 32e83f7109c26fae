// Runs once when a Next.js server process starts (`next start`, `next dev`):
// a long-running deployment runs its export worker here, beside the routes.
// Where the routes are serverless functions (Vercel), set
// LORA_EXPORT_WORKER=off and run `node scripts/worker.mjs` on a host that
// stays up, with the app/api/cron routes for the schedules (vercel.json).
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.LORA_EXPORT_WORKER !== 'off') {
    const { startWorker } = await import('./lib/worker')
    startWorker()
  }
}
