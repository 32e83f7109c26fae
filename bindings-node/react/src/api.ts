// Typed fetch helpers for the routes of lora-export/next, mounted under a
// base path (default /api/export). Every call is same-origin with the
// page's cookies (credentials: 'same-origin'), so a session cookie reaches
// the routes; no header names the user. A non-2xx answer rejects with an
// ApiError carrying the body's code, message, per-field issues and
// retry_after.

// The shapes are the library's own (a type-only import: nothing of the
// native module reaches the browser bundle).
import type {
  ConversationRow,
  ConversationStatus,
  ExportFormat,
  ExportScope,
  ExportStatus,
  FilterConfig,
  JsonlFlavor,
  TierType,
  ValidationIssue as Issue,
} from 'lora-export'

export type {
  ConversationRow,
  ConversationStatus,
  ExportFormat,
  ExportScope,
  ExportStatus,
  FilterConfig,
  Issue,
  JsonlFlavor,
  TierType,
}

/** The six include flags of an ExportConfig. */
export interface IncludeOptions {
  includeMetadata: boolean
  includeQualityScores: boolean
  includeTimestamps: boolean
  includeApprovalHistory: boolean
  includeParentReferences: boolean
  includeFullContent: boolean
}

export interface ExportConfig extends IncludeOptions {
  scope: ExportScope
  format: ExportFormat
  jsonlFlavor?: JsonlFlavor
  systemPrompt?: string
}

/** How the single file is compressed (default `'none'`): downloaded as a `.gz`/`.zst` file. */
export type Compression = 'none' | 'gzip' | 'zstd'

export interface ExportRequest {
  config: ExportConfig
  conversationIds?: string[]
  filters?: FilterConfig
  compression?: Compression
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  limit: number
  totalPages: number
}

export interface ExportCounts {
  selected: number
  filtered: number
  all: number
  all_data: number
}

export interface PreviewAnswer {
  format: ExportFormat
  preview: string
  count: number
}

// The create and retry answers tell 201 from 202 by `status` (and
// `http_status`); this server's answers carry no `outcome` field.
export interface CompletedExport {
  status: 'completed'
  http_status: 201
  export_id: string
  file_name: string
  file_size: number
  sha256: string
  expires_at: string
  conversation_count: number
  summary?: unknown
  download_url: string
}

export interface QueuedExport {
  status: 'queued'
  http_status: 202
  export_id: string
  status_url: string
}

export type CreatedExport = CompletedExport | QueuedExport

export interface StatusAnswer {
  export_id: string
  status: ExportStatus
  progress?: number
  conversation_count: number
  file_size?: number | null
  file_name?: string | null
  error_message?: string | null
  expires_at?: string | null
}

export interface HistoryItem {
  export_id: string
  user_id: string
  format: ExportFormat
  status: ExportStatus
  conversation_count: number
  file_size: number | null
  file_url: string | null
  download_count: number
  error_message: string | null
  created_at: string
  completed_at: string | null
  expires_at: string | null
  config: unknown
  file_name: string | null
  downloadable: boolean
  /** A dataset export's files (its shards and README.md card). */
  files?: ExportFile[]
}

/** One file of a dataset export, as its manifest lists it. */
export interface ExportFile {
  name: string
  split?: string
  conversations: number
  bytes: number
  sha256: string
}

export interface HistoryPage extends Page<HistoryItem> {
  hasNext: boolean
  hasPrev: boolean
}

export interface DeleteAnswer {
  export_id: string
  status: ExportStatus
  cancelled: boolean
  file_deleted: boolean
}

/** A non-2xx answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly retryAfter?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** The user has no valid sign-in (no cookie, or an expired token). */
  get unauthorized(): boolean {
    return this.status === 401
  }
}

/** Where the routes of lora-export/next are mounted (default `/api/export`). */
export const DEFAULT_BASE_PATH = '/api/export'

/** The base path without a trailing slash. */
const at = (basePath: string | undefined) => (basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, '')

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  })
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: reported below when the status is an error
  }
  if (!response.ok) {
    const e = (json ?? {}) as { error?: string; message?: string; issues?: Issue[]; retry_after?: number }
    const header = Number(response.headers.get('retry-after'))
    const retryAfter = e.retry_after ?? (Number.isFinite(header) && header > 0 ? header : undefined)
    throw new ApiError(response.status, e.error ?? `HTTP_${response.status}`, e.message ?? (text || response.statusText), e.issues ?? [], retryAfter)
  }
  return json as T
}

/** The filters of a history page (`from` and `to`: RFC 3339 instants or `YYYY-MM-DD` dates). */
export interface HistoryQuery {
  page: number
  limit: number
  format?: string
  status?: string
  from?: string
  to?: string
  /** The column the page is sorted by (default `created_at`). */
  sort?: HistorySort
  /** Default `desc`. */
  order?: 'asc' | 'desc'
  /** Admin history only: one user's exports. */
  user?: string
}

/** The columns a history page can be sorted by. */
export type HistorySort = 'created_at' | 'format' | 'status' | 'conversation_count' | 'file_size' | 'expires_at'

/** The query string of a history request (empty values left out). */
function historyParams(query: HistoryQuery): URLSearchParams {
  const params = new URLSearchParams({ page: String(query.page), limit: String(query.limit) })
  for (const key of ['format', 'status', 'from', 'to', 'sort', 'order', 'user'] as const) {
    const value = query[key]
    if (value) params.set(key, value)
  }
  return params
}

export const countExport = (basePath: string | undefined, body: { conversationIds?: string[]; filters?: FilterConfig }, signal?: AbortSignal) =>
  call<ExportCounts>('POST', `${at(basePath)}/count`, body, signal)

export const previewExport = (basePath: string | undefined, request: ExportRequest, signal?: AbortSignal) =>
  call<PreviewAnswer>('POST', `${at(basePath)}/preview`, request, signal)

export const createExport = (basePath: string | undefined, request: ExportRequest) =>
  call<CreatedExport>('POST', `${at(basePath)}/conversations`, request)

export const exportStatus = (basePath: string | undefined, id: string, signal?: AbortSignal) =>
  call<StatusAnswer>('GET', `${at(basePath)}/status/${encodeURIComponent(id)}`, undefined, signal)

/** The signed-in user's exports (`GET {basePath}/history`). */
export const exportHistory = (basePath: string | undefined, query: HistoryQuery, signal?: AbortSignal) =>
  call<HistoryPage>('GET', `${at(basePath)}/history?${historyParams(query)}`, undefined, signal)

/** Every user's exports, for an administrator (`GET {basePath}/admin/history`; 403 for anyone else). */
export const adminHistory = (basePath: string | undefined, query: HistoryQuery, signal?: AbortSignal) =>
  call<HistoryPage>('GET', `${at(basePath)}/admin/history?${historyParams(query)}`, undefined, signal)

export const deleteExport = (basePath: string | undefined, id: string) =>
  call<DeleteAnswer>('DELETE', `${at(basePath)}/${encodeURIComponent(id)}`)

export const retryExport = (basePath: string | undefined, id: string) =>
  call<CreatedExport>('POST', `${at(basePath)}/retry/${encodeURIComponent(id)}`)

/** The download route of an export; with `file`, of one file of a dataset export. */
export const downloadUrl = (basePath: string | undefined, id: string, file?: string) =>
  `${at(basePath)}/download/${encodeURIComponent(id)}` + (file === undefined ? '' : `?file=${encodeURIComponent(file)}`)

/** Bytes as a person reads them: 512 B, 1.5 KB, 2.3 MB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—'
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
