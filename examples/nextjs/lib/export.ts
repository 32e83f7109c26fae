// The one ExportClient of this server process, and the two helpers every
// route uses: who the signed-in user is, and how an error becomes a response.
import { ExportClient, isLoraExportError, type Session } from 'lora-export'

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

/**
 * The signed-in user of a request, as a Supabase app has it: the access
 * token from `Authorization: Bearer …` or from the auth cookie that
 * `@supabase/ssr` sets (chunked or not), verified by lora-export against
 * SUPABASE_URL's JWKS or SUPABASE_JWT_SECRET. Rejects 401 (`INVALID_TOKEN`,
 * with a `reason`) without a valid one: no header names the user.
 */
export async function sessionOf(request: Request): Promise<Session> {
  const client = await exportClient()
  return client.authenticate(request.headers.get('authorization'), request.headers.get('cookie'))
}

/** Runs a route body; a lora-export error answers with its own status, code and issues. */
export async function answer(route: () => Promise<Response>): Promise<Response> {
  try {
    return await route()
  } catch (error) {
    if (!isLoraExportError(error)) throw error
    const headers: Record<string, string> = {}
    if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter)
    if (error.status === 401) headers['WWW-Authenticate'] = `Bearer error="invalid_token"`
    const body = {
      error: error.code,
      reason: error.reason,
      message: error.message,
      issues: error.issues,
      retry_after: error.retryAfter,
    }
    return Response.json(body, { status: error.status, headers })
  }
}
