// The one ExportClient of this server process, and the export routes built
// on it by lora-export/next: each route file re-exports one of them.
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'

declare global {
  // Survives Next.js dev-mode module reloads, and is shared by
  // instrumentation.ts and the routes: one pool per process.
  var loraExportClient: Promise<ExportClient> | undefined
}

/**
 * The process's client. `connect` opens no connection and rejects only for a
 * bad option, so the cached promise never holds a database outage: the pool
 * connects on use, and again after a blip.
 */
export function exportClient(): Promise<ExportClient> {
  globalThis.loraExportClient ??= ExportClient.connect(process.env.DATABASE_URL ?? '')
  return globalThis.loraExportClient
}

/**
 * The export API's handlers. Every route signs the user in as a Supabase app
 * does — the access token from `Authorization: Bearer …` or from the auth
 * cookie `@supabase/ssr` sets, verified against SUPABASE_URL's JWKS or
 * SUPABASE_JWT_SECRET — and answers 401 without a valid one: no header
 * names the user.
 */
export const routes = exportRoutes({ client: exportClient })
