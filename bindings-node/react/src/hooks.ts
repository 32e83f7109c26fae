'use client'
// Headless hooks over the routes of lora-export/next, for an app that brings
// its own design system: the scope counts, the preview, an export (created,
// then polled while queued) and a history page. Each takes `basePath`
// (default /api/export), aborts what it fetched when its inputs change or it
// unmounts, and tells a 401 apart (`unauthorized`) so the app can send the
// user to its sign-in.
import { useCallback, useEffect, useRef, useState } from 'react'
import {
  ApiError,
  adminHistory,
  countExport,
  createExport,
  deleteExport,
  downloadUrl,
  exportHistory,
  exportStatus,
  previewExport,
  retryExport,
  type CreatedExport,
  type DeleteAnswer,
  type ExportCounts,
  type ExportFormat,
  type ExportRequest,
  type FilterConfig,
  type HistoryPage,
  type HistoryQuery,
  type Issue,
} from './api.js'

/** How often a queued export's status is read (ms). */
export const POLL_MS = 500

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

const isUnauthorized = (error: unknown) => error instanceof ApiError && error.unauthorized

/** Options every hook takes. */
export interface ApiOptions {
  /** Where the routes of lora-export/next are mounted (default `/api/export`). */
  basePath?: string
}

/** The count of each scope: `useScopeCounts`' answer. */
export interface ScopeCountsState {
  counts: ExportCounts | null
  loading: boolean
  error: string | null
  unauthorized: boolean
}

/** The count of each scope for a selection and filters, refetched when either changes. */
export function useScopeCounts(
  selection: { conversationIds?: string[]; filters?: FilterConfig },
  options: ApiOptions = {},
): ScopeCountsState {
  const [state, setState] = useState<ScopeCountsState>({ counts: null, loading: true, error: null, unauthorized: false })
  const key = JSON.stringify({ conversationIds: selection.conversationIds, filters: selection.filters })
  const { basePath } = options
  useEffect(() => {
    const abort = new AbortController()
    setState((s) => ({ ...s, loading: true }))
    countExport(basePath, JSON.parse(key), abort.signal)
      .then((counts) => setState({ counts, loading: false, error: null, unauthorized: false }))
      .catch((error) => {
        if (abort.signal.aborted) return
        setState((s) => ({ ...s, loading: false, error: `Counts unavailable: ${messageOf(error)}`, unauthorized: isUnauthorized(error) }))
      })
    return () => abort.abort()
  }, [key, basePath])
  return state
}

/** The first conversations as the export writes them. */
export interface Preview {
  format: ExportFormat
  text: string
  count: number
}

/** `usePreview`'s answer. */
export interface PreviewHookState {
  preview: Preview | null
  loading: boolean
  error: string | null
  unauthorized: boolean
}

/**
 * The preview of `request` (null: nothing to preview, `error` says why),
 * refetched as soon as it changes — or, while `typing` (the text a user
 * types into, e.g. the system prompt) changes, `debounceMs` (default 150)
 * after the last keystroke.
 */
export function usePreview(
  request: ExportRequest | null,
  options: ApiOptions & { debounceMs?: number; typing?: string; emptyMessage?: string } = {},
): PreviewHookState {
  const [state, setState] = useState<PreviewHookState>({ preview: null, loading: request !== null, error: null, unauthorized: false })
  const key = request === null ? null : JSON.stringify(request)
  const { basePath, debounceMs = 150, typing, emptyMessage = 'Nothing to preview.' } = options
  const typed = useRef(typing)
  useEffect(() => {
    const wait = typed.current !== typing ? debounceMs : 0
    typed.current = typing
    if (key === null) {
      setState({ preview: null, loading: false, error: emptyMessage, unauthorized: false })
      return
    }
    const abort = new AbortController()
    setState((s) => ({ ...s, loading: true }))
    const timer = setTimeout(() => {
      previewExport(basePath, JSON.parse(key), abort.signal)
        .then((answer) =>
          setState({ preview: { format: answer.format, text: answer.preview, count: answer.count }, loading: false, error: null, unauthorized: false }),
        )
        .catch((error) => {
          if (abort.signal.aborted) return
          const detail =
            error instanceof ApiError && error.issues.length ? error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : messageOf(error)
          setState({ preview: null, loading: false, error: `Preview unavailable: ${detail}`, unauthorized: isUnauthorized(error) })
        })
    }, wait)
    return () => {
      clearTimeout(timer)
      abort.abort()
    }
  }, [key, basePath, debounceMs, typing, emptyMessage])
  return state
}

/** Where an export started by `useExport` stands. */
export type ExportPhase =
  | { kind: 'idle' }
  | { kind: 'submitting' }
  | { kind: 'running'; exportId: string; status: 'queued' | 'processing'; progress: number }
  | { kind: 'completed'; exportId: string; fileName: string; fileSize: number | null; count: number; downloadUrl: string; queued: boolean }
  | { kind: 'failed'; exportId: string; message: string }
  | { kind: 'error'; message: string; code?: string; retryAfter?: number; signIn?: boolean }

/** `useExport`'s answer. */
export interface ExportHookState {
  phase: ExportPhase
  /** The 400 answer's issues (each with the path of the field it is about). */
  issues: Issue[]
  /** Starts an export of `request`: 201 completes at once, 202 is polled until done. */
  submit: (request: ExportRequest) => Promise<void>
  /** Back to idle. */
  reset: () => void
}

/** An export: created, then (queued) its status polled every `POLL_MS` until it completes or fails. */
export function useExport(options: ApiOptions = {}): ExportHookState {
  const { basePath } = options
  const [phase, setPhase] = useState<ExportPhase>({ kind: 'idle' })
  const [issues, setIssues] = useState<Issue[]>([])
  const alive = useRef(true)
  useEffect(() => {
    alive.current = true
    return () => {
      alive.current = false
    }
  }, [])

  const poll = useCallback(
    async (exportId: string) => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
        if (!alive.current) return
        let status
        try {
          status = await exportStatus(basePath, exportId)
        } catch (error) {
          if (!alive.current) return
          setPhase({ kind: 'error', message: `Could not read the export's status: ${messageOf(error)}`, signIn: isUnauthorized(error) })
          return
        }
        if (!alive.current) return
        if (status.status === 'completed') {
          setPhase({
            kind: 'completed',
            exportId,
            fileName: status.file_name ?? exportId,
            fileSize: status.file_size ?? null,
            count: status.conversation_count,
            downloadUrl: downloadUrl(basePath, exportId),
            queued: true,
          })
          return
        }
        if (status.status === 'failed' || status.status === 'expired') {
          setPhase({ kind: 'failed', exportId, message: status.error_message ?? status.status })
          return
        }
        setPhase({ kind: 'running', exportId, status: status.status, progress: status.progress ?? 0 })
      }
    },
    [basePath],
  )

  const submit = useCallback(
    async (request: ExportRequest) => {
      setIssues([])
      setPhase({ kind: 'submitting' })
      let created: CreatedExport
      try {
        created = await createExport(basePath, request)
      } catch (error) {
        if (!alive.current) return
        if (error instanceof ApiError) {
          setIssues(error.issues)
          const message =
            error.status === 429
              ? 'Too many exports.'
              : error.issues.length > 0
                ? `The request was refused (${error.code}): see the fields marked below.`
                : `${error.message} (${error.code})`
          setPhase({
            kind: 'error',
            message,
            code: error.code,
            retryAfter: error.status === 429 ? (error.retryAfter ?? 60) : undefined,
            signIn: error.unauthorized,
          })
        } else {
          setPhase({ kind: 'error', message: `The export could not start: ${messageOf(error)}` })
        }
        return
      }
      if (!alive.current) return
      if (created.status === 'completed') {
        setPhase({
          kind: 'completed',
          exportId: created.export_id,
          fileName: created.file_name,
          fileSize: created.file_size,
          count: created.conversation_count,
          downloadUrl: created.download_url ?? downloadUrl(basePath, created.export_id),
          queued: false,
        })
      } else {
        setPhase({ kind: 'running', exportId: created.export_id, status: 'queued', progress: 0 })
        void poll(created.export_id)
      }
    },
    [basePath, poll],
  )

  const reset = useCallback(() => {
    setIssues([])
    setPhase({ kind: 'idle' })
  }, [])
  return { phase, issues, submit, reset }
}

/** `useExportHistory`'s answer. */
export interface ExportHistoryState {
  data: HistoryPage | null
  loading: boolean
  /** The last failure to load (an `ApiError` for an HTTP answer). */
  error: unknown
  unauthorized: boolean
  /** Loads the page again. */
  reload: () => void
  remove: (id: string) => Promise<DeleteAnswer>
  retry: (id: string) => Promise<CreatedExport>
}

/**
 * A page of export history for `query`, refetched when it changes and
 * every 1.5 s while an export on the page is queued or running. `admin`:
 * every user's exports (`{basePath}/admin/history`, an administrator only).
 */
export function useExportHistory(query: HistoryQuery, options: ApiOptions & { admin?: boolean } = {}): ExportHistoryState {
  const { basePath, admin = false } = options
  const [data, setData] = useState<HistoryPage | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [generation, setGeneration] = useState(0)
  const key = JSON.stringify(query)

  useEffect(() => {
    const abort = new AbortController()
    setLoading(true)
    const load = admin ? adminHistory : exportHistory
    load(basePath, JSON.parse(key), abort.signal)
      .then((answer) => {
        setData(answer)
        setError(null)
      })
      .catch((e) => !abort.signal.aborted && setError(e))
      .finally(() => !abort.signal.aborted && setLoading(false))
    return () => abort.abort()
  }, [key, basePath, admin, generation])

  const running = data?.items.some((i) => i.status === 'queued' || i.status === 'processing') ?? false
  useEffect(() => {
    if (!running) return
    const timer = setTimeout(() => setGeneration((n) => n + 1), 1500)
    return () => clearTimeout(timer)
  }, [running, data])

  const reload = useCallback(() => setGeneration((n) => n + 1), [])
  const remove = useCallback(
    async (id: string) => {
      const answer = await deleteExport(basePath, id)
      reload()
      return answer
    },
    [basePath, reload],
  )
  const retry = useCallback(
    async (id: string) => {
      const created = await retryExport(basePath, id)
      reload()
      return created
    },
    [basePath, reload],
  )
  return { data, loading, error, unauthorized: isUnauthorized(error), reload, remove, retry }
}
