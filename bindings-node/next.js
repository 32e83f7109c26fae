'use strict'
// lora-export/next: the seeds' export routes for the Next.js App Router in
// one call. Each handler signs the user in first (401 otherwise), calls the
// native ExportClient, and answers JSON — every error too, with `error`
// (a stable code), `message`, `issues` and, for 429, `retry_after`.
const { createHash, randomUUID, timingSafeEqual } = require('node:crypto')
const { Readable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { isLoraExportError } = require('./index.js')

const OPTIONS = ['client', 'session', 'basePath', 'onError', 'maxBodyBytes', 'allowedOrigins']

/** The largest request body the handlers read by default (1 MiB); `maxBodyBytes` changes it. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/** Methods that change something: a cookie-authenticated one must come from the app's own pages. */
const UNSAFE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE']

/**
 * The route handlers of the export API, to re-export from `route.ts` files:
 *
 *   // app/api/export/conversations/route.ts
 *   export const { POST } = routes.create
 *
 * `client`: an ExportClient, or a function returning one (or its promise).
 * `session(request, client)`: the verified user of a request (default: the
 * Supabase access token from `Authorization: Bearer` or the `@supabase/ssr`
 * cookie, verified by `client.authenticate`). `basePath` (default
 * `/api/export`) builds the `download_url` / `status_url` of create answers.
 * `onError(error, { errorId })` receives every error answered with a 5xx
 * status — the library's own (`error.errorId`: the client's `error_id`,
 * under which the client's `onError` or stderr got the cause) and any other
 * (a fresh error id) — so that a tracker (Sentry, Datadog) sees each; the
 * client gets the code, a safe message and `error_id`. Default: logs an
 * error that is not the library's with `console.error` (the library logs
 * its own).
 * `maxBodyBytes` (default 1 MiB) is the largest body a handler reads: a
 * larger one answers 413 `PAYLOAD_TOO_LARGE`, whether it declares its
 * Content-Length or is sent in chunks. `allowedOrigins` lists origins
 * besides the request's own (`https://app.example`) whose pages may send
 * cookie-authenticated POST and DELETE requests (see `crossSite`).
 */
function exportRoutes(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('exportRoutes: pass an options object with `client`')
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      throw new TypeError(`exportRoutes: unknown option \`${key}\` (known: ${OPTIONS.join(', ')})`)
    }
  }
  const {
    client, session, basePath = '/api/export', onError = logForeign,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES, allowedOrigins = [],
  } = options
  if (client === undefined || client === null) throw new TypeError('exportRoutes: `client` is required')
  for (const [key, value] of [['session', session], ['onError', onError]]) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`exportRoutes: \`${key}\` must be a function`)
    }
  }
  if (typeof basePath !== 'string' || !basePath.startsWith('/')) {
    throw new TypeError('exportRoutes: `basePath` must be a path starting with `/`')
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new TypeError('exportRoutes: `maxBodyBytes` must be a whole number of bytes, at least 1')
  }
  if (!Array.isArray(allowedOrigins) || !allowedOrigins.every((o) => typeof o === 'string' && /^https?:\/\/[^/]+$/.test(o))) {
    throw new TypeError('exportRoutes: `allowedOrigins` must be an array of origins such as `https://app.example`')
  }
  const base = basePath.replace(/\/+$/, '')
  const jsonBody = (request) => readJson(request, maxBodyBytes)
  const clientOf = typeof client === 'function' ? client : () => client
  const signIn =
    session ?? ((request, c) => c.authenticate(request.headers.get('authorization'), request.headers.get('cookie')))

  // Runs a handler for a signed-in user; every failure answers JSON.
  const route = (handler) => async (request, context) => {
    // The headers first, outside the try: when `next build` prerenders a GET
    // route (Next.js 16 with cacheComponents), this read throws Next.js's
    // signal that the route is dynamic, before any connection is made and
    // without an error answer or log line.
    request.headers
    try {
      crossSite(request, allowedOrigins)
      const c = await clientOf()
      const user = await signIn(request, c)
      const params = (await context?.params) ?? {}
      return await handler({ request, client: c, user, params })
    } catch (error) {
      return errorResponse(error, onError)
    }
  }
  const created = (result) => {
    const id = encodeURIComponent(result.export_id)
    const link =
      result.status === 'completed' ? { download_url: `${base}/download/${id}` } : { status_url: `${base}/status/${id}` }
    return Response.json({ ...result, ...link }, { status: result.http_status })
  }
  const download = (head) =>
    route(async ({ request, client: c, user, params }) => {
      // `?file=train-00000-of-00002.jsonl`: one file of a dataset export.
      const file = new URL(request.url).searchParams.get('file') ?? undefined
      const range = request.headers.get('range') ?? undefined
      const answer = await c.download(user, params.id, { file, range, head })
      const headers = {
        'Content-Type': answer.contentType,
        'Content-Disposition': answer.contentDisposition,
        // no-transform: no compression on the way, so Content-Length and the
        // SHA-256 stay those of the bytes the client receives.
        'Cache-Control': 'private, no-store, no-transform',
      }
      if (answer.redirect) {
        // A presigned URL minted for this request: the store serves the bytes.
        return new Response(null, { status: 302, headers: { Location: answer.redirect.url, 'Cache-Control': 'private, no-store' } })
      }
      // A dataset export's zip is written as it is sent: no length, no hash, no ranges.
      if (answer.size != null) headers['Accept-Ranges'] = 'bytes'
      if (answer.contentLength != null) headers['Content-Length'] = String(answer.contentLength)
      if (answer.contentRange != null) headers['Content-Range'] = answer.contentRange
      if (answer.sha256 != null) headers['X-Content-SHA256'] = answer.sha256
      return new Response(closedWhenIdle(answer.stream, answer.idleTimeoutSecs), { status: answer.status, headers })
    })

  const handlers = {
    /** POST: create an export (201 with `download_url`, 202 with `status_url`). */
    create: { POST: route(async ({ request, client: c, user }) => created(await c.createExport(user, await jsonBody(request)))) },
    /** GET: an export's status and progress. */
    status: { GET: route(async ({ client: c, user, params }) => Response.json(await c.getStatus(user, params.id))) },
    /**
     * GET streams the file (counted, audited), one `Range` of it as 206 (416
     * outside the file), or — with the client's `downloads: 'redirect'` and
     * object storage — answers 302 to a presigned URL; HEAD answers its
     * headers only. A dataset export is one zip of its files, or
     * `?file=NAME` one of them.
     */
    download: { GET: download(false), HEAD: download(true) },
    /**
     * The download as a Pages Router API route (`pages/api/export/download/[id].ts`:
     * `export default routes.pagesDownload`), GET and HEAD. Next.js (15, 16) drops
     * `Content-Length` from every App Router response; a Pages API route
     * writes the Node response itself, so the length reaches the client.
     */
    pagesDownload: async (req, res) => {
      const method = req.method ?? 'GET'
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD')
        return sendNode(res, Response.json({ error: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed` }, { status: 405 }))
      }
      const id = Array.isArray(req.query?.id) ? req.query.id[0] : req.query?.id
      const response = await download(method === 'HEAD')(nodeRequest(req), { params: Promise.resolve({ id }) })
      return sendNode(res, response, method === 'HEAD')
    },
    /** GET: the user's exports, from the URL's query (`page`, `limit`, `format`, `status`, `from`, `to`, `sort`, `order`). */
    history: {
      GET: route(async ({ request, client: c, user }) =>
        Response.json(await c.listHistory(user, Object.fromEntries(new URL(request.url).searchParams))),
      ),
    },
    /**
     * GET: every user's exports (`?user=` one user's), with the history's
     * query; an administrator only — the verified token's
     * `app_metadata.role` is `admin` — 403 `ADMIN_REQUIRED` for anyone else.
     */
    adminHistory: {
      GET: route(async ({ request, client: c, user }) =>
        Response.json(await c.listAdminHistory(user, Object.fromEntries(new URL(request.url).searchParams))),
      ),
    },
    /** DELETE: deletes an export (cancels its job, removes its file). */
    remove: { DELETE: route(async ({ client: c, user, params }) => Response.json(await c.deleteExport(user, params.id))) },
    /** POST `{ conversationIds?, filters? }`: the count of each scope. */
    count: { POST: route(async ({ request, client: c, user }) => Response.json(await c.countScopes(user, await jsonBody(request)))) },
    /** POST an export request (`?n=` 1–10, default 3): its first conversations as the export writes them. */
    preview: {
      POST: route(async ({ request, client: c, user }) => {
        const n = new URL(request.url).searchParams.get('n')
        return Response.json(await c.previewExport(user, await jsonBody(request), n === null ? undefined : positive(n, 'n')))
      }),
    },
    /** POST: a new export from a failed or expired one (answers like create). */
    retry: { POST: route(async ({ client: c, user, params }) => created(await c.retryExport(user, params.id))) },
    /** GET: the audit trail as CSV; `?all=1` every user's (an administrator only). */
    audit: {
      GET: route(async ({ request, client: c, user }) => {
        const all = new URL(request.url).searchParams.get('all')
        if (all !== null && all !== '0' && all !== '1') {
          throw badRequest('all', 'invalid_query', '`all` is 1 (every user, an administrator only) or 0')
        }
        const csv = await c.auditTrailCsv(user, { allUsers: all === '1' })
        const name = `audit-trail-${all === '1' ? 'all-users-' : ''}${new Date().toISOString().slice(0, 10)}.csv`
        return new Response(csv, {
          headers: {
            'Content-Type': 'text/csv; charset=utf-8',
            'Content-Disposition': `attachment; filename="${name}"`,
            'Cache-Control': 'private, no-store',
          },
        })
      }),
    },
    /** POST `{ filters?, page?, limit? }`: a page of the conversations table. */
    conversations: {
      POST: route(async ({ request, client: c, user }) => Response.json(await c.listConversations(user, await jsonBody(request)))),
    },
  }

  // Operations (issue 37): the metrics route, and every handler timed.
  /**
   * GET: the Prometheus text exposition of `client.prometheusMetrics()`, for
   * `Authorization: Bearer $LORA_EXPORT_METRICS_SECRET` only (401 otherwise;
   * 404 while the variable is unset: no metrics without a secret).
   */
  handlers.metrics = {
    GET: async (request) => {
      request.headers
      try {
        const secret = process.env.LORA_EXPORT_METRICS_SECRET
        if (!secret) throw new Refused(404, 'NOT_FOUND', 'no metrics here: set LORA_EXPORT_METRICS_SECRET to serve them')
        const given = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? ''
        if (!sameSecret(given, secret)) {
          return Response.json(
            { error: 'UNAUTHORIZED', message: 'send Authorization: Bearer <LORA_EXPORT_METRICS_SECRET>' },
            { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' } },
          )
        }
        const text = await (await clientOf()).prometheusMetrics()
        return new Response(text, {
          headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' },
        })
      } catch (error) {
        return errorResponse(error, onError)
      }
    },
  }
  return timed(handlers, clientOf)
}

/** Whether `given` is `secret`, compared in constant time (of their SHA-256 digests). */
function sameSecret(given, secret) {
  const digest = (text) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(secret))
}

/**
 * `handlers` with each one's latency and status recorded in the client
 * (`client.recordRequest(name, status, ms)`), under the handler's name
 * (`create`, `status`, `download`, …): what `metrics()` and the metrics
 * route report per route. A client that cannot be had records nothing.
 */
function timed(handlers, clientOf) {
  const record = (name, status, started) => {
    const ms = performance.now() - started
    Promise.resolve()
      .then(clientOf)
      .then((c) => c.recordRequest(name, status, ms))
      .catch(() => {})
  }
  const out = {}
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler === 'function') {
      out[name] = async (req, res) => {
        const started = performance.now()
        try {
          return await handler(req, res)
        } finally {
          record(name, res.statusCode, started)
        }
      }
      continue
    }
    out[name] = {}
    for (const [method, fn] of Object.entries(handler)) {
      out[name][method] = async (request, context) => {
        const started = performance.now()
        const response = await fn(request, context)
        record(name, response.status, started)
        return response
      }
    }
  }
  return out
}

/**
 * `stream` as a response body that errors — the response is aborted and its
 * socket closed — once nothing has pulled from it for `seconds`: the
 * service closes the download's native stream after that long unread, and
 * the HTTP response of a client that stopped reading goes with it.
 */
function closedWhenIdle(stream, seconds) {
  if (stream === null) return null
  const reader = stream.getReader()
  let timer
  const arm = (controller) => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      controller.error(new Error(`the download was closed: nothing was read for ${seconds} s`))
      reader.cancel().catch(() => {})
    }, seconds * 1000)
    timer.unref()
  }
  return new ReadableStream({
    start: arm,
    async pull(controller) {
      clearTimeout(timer)
      const { done, value } = await reader.read()
      if (done) return controller.close()
      controller.enqueue(value)
      arm(controller)
    },
    cancel(reason) {
      clearTimeout(timer)
      return reader.cancel(reason)
    },
  })
}

/** A Node IncomingMessage as a web Request (its method, URL and headers; no body). */
function nodeRequest(req) {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v))
    else if (value !== undefined) headers.set(name, value)
  }
  return new Request(new URL(req.url ?? '/', 'http://localhost'), { method: req.method, headers })
}

/** Writes a web Response to a Node ServerResponse, headers first (Content-Length kept). */
async function sendNode(res, response, headOnly = false) {
  res.statusCode = response.status
  response.headers.forEach((value, name) => res.setHeader(name, value))
  if (!response.body || headOnly) {
    await response.body?.cancel()
    res.end()
    return
  }
  await pipeline(Readable.fromWeb(response.body), res)
}

/** The JSON error answer of any error; every 5xx goes to `onError` with its error id. */
function errorResponse(error, onError) {
  if (error instanceof BadRequest) {
    return Response.json({ error: 'VALIDATION_ERROR', message: error.message, issues: error.issues }, { status: 400 })
  }
  if (error instanceof Refused) {
    return Response.json({ error: error.code, message: error.message }, { status: error.status })
  }
  if (!isLoraExportError(error)) {
    const errorId = randomUUID()
    onError(error, { errorId })
    return Response.json({ error: 'INTERNAL_ERROR', message: `internal error (error id ${errorId})`, error_id: errorId }, { status: 500 })
  }
  if (error.status >= 500) onError(error, { errorId: error.errorId })
  const headers = {}
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter)
  if (error.status === 416 && error.size !== undefined) headers['Content-Range'] = `bytes */${error.size}`
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer error="invalid_token"'
  const body = {
    error: error.code,
    reason: error.reason,
    message: error.message,
    issues: error.issues,
    retry_after: error.retryAfter,
    error_id: error.errorId,
  }
  return Response.json(body, { status: error.status, headers })
}

/** The default `onError`: the library logs its own errors (stderr or the client's `onError`); this logs the others. */
function logForeign(error, { errorId }) {
  if (!isLoraExportError(error)) console.error(`lora-export/next: internal error (error id ${errorId})`, error)
}

/** A 400 the handlers raise themselves (a body that is not JSON, a bad query value). */
class BadRequest extends Error {
  constructor(path, code, message) {
    super(message)
    this.issues = [{ path, code, message }]
  }
}
const badRequest = (path, code, message) => new BadRequest(path, code, message)

/** A refusal the handlers answer themselves with a status and a stable code (413, 403, 415). */
class Refused extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * Refuses (403 `CROSS_SITE_REQUEST`) an unsafe request (POST, DELETE, …)
 * that the browser may have sent with the session cookie from another
 * site's page: one that carries a `Cookie` and no `Authorization: Bearer`
 * must come from the app's own origin — its `Origin` header names the
 * host the request reached (or is one of `allowedOrigins`), or without `Origin`,
 * `Sec-Fetch-Site` is `same-origin`. Such a request with a body must also
 * declare it JSON (415 `UNSUPPORTED_MEDIA_TYPE` otherwise): an HTML form
 * cannot. SameSite=Lax cookies alone leave same-site subdomains and
 * top-level POSTs in older browsers open. A bearer token is never sent by
 * the browser on its own, so bearer requests are not checked.
 */
function crossSite(request, allowedOrigins) {
  if (!UNSAFE_METHODS.includes(request.method)) return
  const headers = request.headers
  if (!headers.get('cookie') || /^bearer\s/i.test(headers.get('authorization') ?? '')) return
  const origin = headers.get('origin')
  // The app's own host as the request reached it: the URL's, `Host`, or a
  // proxy's `X-Forwarded-Host` (which a cross-site page cannot set).
  const own = [new URL(request.url).host, headers.get('host'), headers.get('x-forwarded-host')].filter(Boolean)
  const sameOrigin =
    origin !== null
      ? allowedOrigins.includes(origin) || own.includes(hostOf(origin))
      : headers.get('sec-fetch-site') === 'same-origin'
  if (!sameOrigin) {
    const from = origin === null ? 'a request without an Origin header' : `origin ${origin}`
    throw new Refused(403, 'CROSS_SITE_REQUEST', `a cookie-authenticated ${request.method} from ${from} is refused: send it from the app's own pages, or with an Authorization: Bearer token`)
  }
  const hasBody = Number(headers.get('content-length') ?? 0) > 0 || headers.get('transfer-encoding') !== null
  const type = (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase()
  if (hasBody && type !== 'application/json') {
    throw new Refused(415, 'UNSUPPORTED_MEDIA_TYPE', `a cookie-authenticated ${request.method} must send its body as application/json`)
  }
}

/** The `host[:port]` of an origin, or `null` for `null` or one that is not a URL. */
function hostOf(origin) {
  try {
    return new URL(origin).host
  } catch {
    return null
  }
}

/** How much of a refused body is read and dropped, so that a client still sending it reads the 413. */
const DRAINED_BYTES = 64 * 1024 * 1024

/**
 * The request's body as text, at most `limit` bytes, else 413
 * `PAYLOAD_TOO_LARGE`: a declared Content-Length over it is refused before
 * anything is kept, and the stream is counted as it is read (a chunked body
 * declares none), keeping nothing past the limit.
 */
async function readText(request, limit) {
  const tooLarge = () => new Refused(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${limit} bytes`)
  const declared = Number(request.headers.get('content-length') ?? 0)
  if (request.body === null) {
    if (declared > limit) throw tooLarge()
    return ''
  }
  const reader = request.body.getReader()
  if (declared > limit) {
    await drop(reader, declared > DRAINED_BYTES ? 0 : DRAINED_BYTES)
    throw tooLarge()
  }
  const chunks = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await drop(reader, DRAINED_BYTES)
      throw tooLarge()
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/**
 * Reads and drops the rest of a refused body, up to `bytes`, then cancels
 * what is left: a server that stops reading mid-body must close the
 * connection, and a client still sending may then miss the answer.
 */
async function drop(reader, bytes) {
  for (let dropped = 0; dropped <= bytes; ) {
    const { done, value } = await reader.read()
    if (done) return
    dropped += value.byteLength
  }
  await reader.cancel().catch(() => {})
}

/** The request's JSON body (at most `limit` bytes); an empty body is `null`, text that is not JSON a 400. */
async function readJson(request, limit) {
  const text = await readText(request, limit)
  if (text.trim() === '') return null
  try {
    return JSON.parse(text)
  } catch (e) {
    throw badRequest('', 'invalid_json', `the body is not JSON: ${e.message}`)
  }
}

/** A query value that must be a positive whole number. */
function positive(value, key) {
  if (!/^\d+$/.test(value)) throw badRequest(key, 'invalid_query', `\`${key}\` must be a whole number, not \`${value}\``)
  return Number(value)
}

module.exports = { exportRoutes }
