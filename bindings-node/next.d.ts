/* lora-export/next: the seeds' export routes for the Next.js App Router in one call. */
import type { ExportClient, Session } from './index'

/**
 * A route handler as a `route.ts` file exports it. `params` is typed `any`
 * because Next.js checks that it fits each route's own segment params
 * (`{}` for a static route, `{ id: string }` for `[id]`); the handlers read
 * only `id`, and the core checks it.
 */
export type RouteHandler = (
  request: Request,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  context: { params: Promise<any> },
) => Promise<Response>

/** Options of `exportRoutes`; an unknown key throws a TypeError. */
export interface ExportRoutesOptions {
  /** The process's ExportClient, or a function returning it (or its promise). */
  client: ExportClient | (() => ExportClient | Promise<ExportClient>)
  /**
   * The verified user of a request. Default: the Supabase access token from
   * `Authorization: Bearer` or the `@supabase/ssr` cookie, verified by
   * `client.authenticate` (401 `INVALID_TOKEN` without a valid one).
   */
  session?: (request: Request, client: ExportClient) => Promise<Session>
  /** Where the routes are mounted (default `/api/export`), for `download_url` / `status_url`. */
  basePath?: string
  /**
   * Receives every error answered with a 5xx status, with the `error_id`
   * its client got: the library's own (a `LoraExportError` with `errorId`)
   * and any other. Default: `console.error` for an error that is not the
   * library's (the library logs its own: the client's `onError`, else stderr).
   */
  onError?: (error: unknown, context: { errorId: string | undefined }) => void
  /**
   * The largest request body a handler reads, in bytes (default 1 MiB,
   * 1,048,576). A larger one answers 413 with `{ error: 'PAYLOAD_TOO_LARGE',
   * message }`, whether it declares a `Content-Length` or is sent in chunks
   * (the stream is counted as it is read and cancelled past the limit).
   */
  maxBodyBytes?: number
  /**
   * Origins besides the request's own (e.g. `['https://app.example']`) whose
   * pages may send cookie-authenticated POST and DELETE requests.
   *
   * Cross-site requests: a POST or DELETE that carries a `Cookie` and no
   * `Authorization: Bearer` header must have an `Origin` equal to the request
   * URL's origin (or listed here) — without `Origin`, `Sec-Fetch-Site:
   * same-origin` — else 403 `{ error: 'CROSS_SITE_REQUEST' }`; with a body it
   * must be `Content-Type: application/json`, else 415
   * `{ error: 'UNSUPPORTED_MEDIA_TYPE' }`. Bearer-token requests are not
   * checked (a browser never attaches a bearer token by itself).
   */
  allowedOrigins?: string[]
}

/** The handlers, one object per route file. */
export interface ExportRoutes {
  /** `POST /api/export/conversations`: 201 with `download_url`, 202 with `status_url`. */
  create: { POST: RouteHandler }
  /** `GET /api/export/status/[id]`. */
  status: { GET: RouteHandler }
  /** `GET /api/export/download/[id]` streams the file (a `Range` as 206, 416 outside it; 302 to a presigned URL with `downloads: 'redirect'`); `HEAD` answers its headers without counting a download. */
  download: { GET: RouteHandler; HEAD: RouteHandler }
  /**
   * The download as a Pages Router API route, GET and HEAD
   * (`pages/api/export/download/[id].ts`: `export default routes.pagesDownload`,
   * with `export const config = { api: { responseLimit: false } }`). Next.js (15, 16)
   * drops `Content-Length` from App Router responses; this route keeps it.
   */
  pagesDownload: (req: import('node:http').IncomingMessage & { query?: Record<string, string | string[] | undefined> }, res: import('node:http').ServerResponse) => Promise<void>
  /** `GET /api/export/history?page=&limit=&format=&status=&from=&to=&sort=&order=`. */
  history: { GET: RouteHandler }
  /**
   * `GET /api/export/admin/history?user=&…` (the history's query): every
   * user's exports, for a session whose verified token's
   * `app_metadata.role` is `admin`; 403 `ADMIN_REQUIRED` for anyone else.
   */
  adminHistory: { GET: RouteHandler }
  /** `DELETE /api/export/[id]`. */
  remove: { DELETE: RouteHandler }
  /** `POST /api/export/count` with `{ conversationIds?, filters? }`. */
  count: { POST: RouteHandler }
  /** `POST /api/export/preview[?n=3]` with an export request. */
  preview: { POST: RouteHandler }
  /** `POST /api/export/retry/[id]`: a new export from a failed or expired one. */
  retry: { POST: RouteHandler }
  /** `GET /api/export/audit[?all=1]`: the audit trail as CSV. */
  audit: { GET: RouteHandler }
  /** `POST /api/conversations` with `{ filters?, page?, limit? }`. */
  conversations: { POST: RouteHandler }
  /**
   * `GET /api/export/metrics`: the Prometheus text exposition
   * (`text/plain; version=0.0.4`) for `Authorization: Bearer
   * $LORA_EXPORT_METRICS_SECRET` (compared in constant time); 401 without it,
   * 404 while the variable is unset.
   */
  metrics: { GET: RouteHandler }
}

/** The route handlers of the export API, configured once. */
export declare function exportRoutes(options: ExportRoutesOptions): ExportRoutes
