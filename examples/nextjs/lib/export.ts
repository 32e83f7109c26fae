// The one ExportClient of this server process, and the two helpers every
// route uses: who the user is, and how an error becomes a response.
import { ExportClient, type LoraExportError } from 'lora-export'

declare global {
  // Survives Next.js dev-mode module reloads: one pool per process.
  var loraExportClient: Promise<ExportClient> | undefined
}

/** The process's client; the first call connects and starts a background worker. */
export function exportClient(): Promise<ExportClient> {
  globalThis.loraExportClient ??= ExportClient.connect(process.env.DATABASE_URL ?? '').then((client) => {
    if (process.env.LORA_EXPORT_WORKER !== 'off') {
      const throttleMs = Number(process.env.LORA_EXPORT_WORKER_THROTTLE_MS ?? 0) || undefined
      client.runWorker({ pollIntervalMs: 200, throttleMs }).catch((e) => console.error('export worker stopped:', e))
    }
    return client
  })
  return globalThis.loraExportClient
}

/** The seeds' dev mode: the user id comes from `x-user-id` (the client answers 401 without one). */
export function userOf(request: Request): string {
  return request.headers.get('x-user-id') ?? ''
}

/** Runs a route body; a lora-export error answers with its own status, code and issues. */
export async function answer(route: () => Promise<Response>): Promise<Response> {
  try {
    return await route()
  } catch (e) {
    const error = e as Partial<LoraExportError>
    if (typeof error.status !== 'number' || typeof error.code !== 'string') throw e
    const headers: Record<string, string> = {}
    if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter)
    const body = { error: error.code, message: error.message, issues: error.issues }
    return Response.json(body, { status: error.status, headers })
  }
}
