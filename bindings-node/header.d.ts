/* lora-export: TypeScript types of the Node binding.
 *
 * This header is prepended to the index.d.ts that `napi build` generates from
 * the Rust source (the functions, classes and option objects below it). The
 * shapes here are the seeds' TypeScript (ExportConfig, FilterConfig,
 * ExportLog, the status response, a history page) as the core serializes
 * them; test/shapes.test.mjs checks the runtime values against these keys. */

/* eslint-disable */

/** Which conversations an export takes. `all` = every approved one. */
export type ExportScope = 'selected' | 'filtered' | 'all' | 'all_data'
/** The output format. */
export type ExportFormat = 'json' | 'jsonl' | 'csv' | 'markdown' | 'parquet'
/** The dialect of a JSONL export. */
export type JsonlFlavor =
  | 'openai'
  | 'openai-dpo'
  | 'trl'
  | 'together'
  | 'fireworks'
  | 'bedrock-nova'
  | 'anthropic'
  | 'sharegpt'
/** A conversation's tier. */
export type TierType = 'template' | 'scenario' | 'edge_case'
/** A conversation's review status. */
export type ConversationStatus =
  | 'draft'
  | 'generated'
  | 'pending_review'
  | 'approved'
  | 'rejected'
  | 'needs_revision'
  | 'failed'
/** An export's lifecycle status. */
export type ExportStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'expired'

/** The seeds' ExportConfig; flags left out take the core's defaults. */
export interface ExportConfig {
  scope: ExportScope
  format: ExportFormat
  includeMetadata?: boolean
  includeQualityScores?: boolean
  includeTimestamps?: boolean
  includeApprovalHistory?: boolean
  includeParentReferences?: boolean
  includeFullContent?: boolean
  jsonlFlavor?: JsonlFlavor
  systemPrompt?: string
  csvFormulaGuard?: boolean
}

/** An ExportConfig with every default filled in (what validation returns). */
export type ResolvedExportConfig = Required<Omit<ExportConfig, 'systemPrompt'>> & {
  systemPrompt?: string
}

/** The seeds' FilterConfig (scope `filtered`). */
export interface FilterConfig {
  tierTypes?: TierType[]
  statuses?: ConversationStatus[]
  qualityRange?: { min: number; max: number }
  dateRange?: { from?: string; to?: string }
  categories?: string[]
  personas?: string[]
  emotions?: string[]
  topics?: string[]
  searchQuery?: string
  parentId?: string
}

/**
 * A training set instead of one file (the `dataset` key of a request, the
 * options of `exportDataset`): splits by a seeded hash of each id, dedupe,
 * shards, compression and a `README.md` dataset card.
 */
export interface DatasetOptions {
  /** Parts and shares in order, `"train=0.9,validation=0.1"` (default: all in `train`). */
  split?: string
  /** The seed of the split's hash (default 0). */
  seed?: number
  /** Leave out repeated ids and repeated turns (listed as skipped). */
  dedupe?: boolean
  /** At most this many conversations per shard (at least 1). */
  maxRecordsPerShard?: number
  /** A new shard after this many bytes of data (at least 1024). */
  maxBytesPerShard?: number
  compression?: 'none' | 'gzip' | 'zstd'
  /**
   * Counts each conversation's tokens: `o200k_base`, `cl100k_base`, or (in
   * `exportDataset`, not in a request to the service) a `tokenizer.json` path.
   */
  tokenizer?: string
  /** Leave out (and list as skipped) a conversation of more tokens; needs `tokenizer`. */
  maxTokens?: number
  /**
   * Render each conversation with this chat template before counting, as the
   * trainer does: a Jinja template's text, or the path of a
   * `tokenizer_config.json` or a template file (`exportDataset` only; needs a
   * `tokenizer.json` `tokenizer`).
   */
  chatTemplate?: string
  /**
   * Replace what the directory holds once the dataset is complete (default
   * false: a directory that holds files is refused; `exportDataset` only).
   */
  overwrite?: boolean
}

/** The body of POST /api/export/conversations. */
export interface ExportRequest {
  config: ExportConfig
  conversationIds?: string[]
  filters?: FilterConfig
  /** Write a training set of several files (downloaded one by one or as a zip). */
  dataset?: DatasetOptions
  /**
   * Compress the single file (default `'none'`): its name ends in `.gz` or
   * `.zst`, its size and SHA-256 are of the compressed bytes, and it
   * downloads as `application/gzip` / `application/zstd`. A dataset uses
   * `dataset.compression` instead.
   */
  compression?: 'none' | 'gzip' | 'zstd'
  /**
   * Your rows' column names → the record's fields
   * (`{ dialog: 'messages', uid: 'conversation_id', score: 'quality_score' }`),
   * for `transform` and `exportDataset`. A field the record does not have,
   * two columns mapped to one field, or a mapped column that no row has is a
   * `VALIDATION_ERROR` naming the column.
   */
  columns?: Record<string, string>
  /**
   * Your rows' other columns to carry into the metadata's `user_fields`:
   * `true` (all) or their names (default none: they are counted in
   * `summary.ignored_fields` and named in a warning).
   */
  keepColumns?: boolean | string[]
}

/** A validated request. */
export interface ResolvedExportRequest {
  config: ResolvedExportConfig
  conversationIds?: string[]
  filters?: FilterConfig
  dataset?: DatasetOptions
  compression?: 'none' | 'gzip' | 'zstd'
  columns?: Record<string, string>
  keepColumns?: boolean | string[]
}

/** One problem of a request: where, a stable code, and a sentence. */
export interface ValidationIssue {
  path: string
  code: string
  message: string
}

/** What `validateExportRequest` answers. */
export type ValidationResult =
  | { ok: true; request: ResolvedExportRequest }
  | { ok: false; issues: ValidationIssue[] }

/** One turn of a conversation. */
export interface ConversationTurnInput {
  role: 'system' | 'user' | 'assistant'
  content: string
  tokenCount?: number
}

/**
 * A conversation as the platform holds it (camelCase, or the database's
 * snake_case), or a row of your own: only the turns are required. Without
 * `conversation_id`, `id` is taken, else `sha256:` and 16 hex digits of the
 * SHA-256 of the turns' canonical JSON. A field that is absent stays absent
 * in the output; a platform-named field of another meaning is kept in the
 * metadata's `user_fields`, with a warning.
 */
export interface ConversationInput {
  id?: string
  conversation_id?: string
  title?: string
  status?: ConversationStatus
  qualityScore?: number
  tier?: TierType
  createdAt?: string
  updatedAt?: string
  turns: ConversationTurnInput[]
  category?: string[]
  persona?: string
  emotion?: string
  topic?: string
  totalTurns?: number
  tokenCount?: number
  parentId?: string
  parentType?: 'template' | 'scenario'
  parameters?: Record<string, unknown>
  reviewHistory?: Array<{
    id: string
    action: string
    performedBy: string
    timestamp: string
    comment?: string
  }>
  [key: string]: unknown
}

/** Where in an input or output something was found. */
export interface Location {
  line?: number
  record?: number
  field?: string
}

/** A record the export could not write, and why. */
export interface SkippedRecord {
  location: Location
  conversation_id?: string
  reason: string
}

/** The core's summary of one export. */
export interface ExportSummary {
  format: string
  conversations: number
  turns: number
  truncated_turns: number
  bytes: number
  sha256: string
  excluded: number
  /** The first skipped records (1,000 by default). */
  skipped: SkippedRecord[]
  /** Every record not written (`skipped` may list fewer). */
  skipped_total: number
  /** Skipped records by the kind of their reason (its text up to the first colon). */
  skipped_by_reason: Record<string, number>
  /** Conversations written whose status is not `approved`. */
  not_approved: number
  /** Conversations written whose `conversation_id` an earlier one had. */
  duplicate_ids: number
  missing_ids: string[]
  tier_distribution: Record<string, number>
  warnings: string[]
  /** Token counts, with a `tokenizer`. */
  tokens?: TokenSummary
  /** Fields the format could not carry and left out, per field (absent when none). */
  dropped_fields?: Record<string, number>
  /**
   * Your rows' columns that were neither read nor kept (`keepColumns`),
   * each with the rows that had a value in it (absent when none).
   */
  ignored_fields?: Record<string, number>
}

/** The token counts of an export's written conversations. */
export interface TokenSummary {
  /** `o200k_base`, `cl100k_base`, or the `tokenizer.json` path. */
  tokenizer: string
  conversations: number
  total: number
  max: number
  p50: number
  p95: number
  /** Conversations skipped for having more than `maxTokens`. */
  over_max_tokens: number
  /** The chat template rendered before counting: its path, or `inline chat template`. */
  chat_template?: string
}

/** What `transform` resolves with. */
export interface TransformResult {
  /** The exported file. */
  data: Buffer
  /** The metadata sidecar (JSONL flavors that forbid extra keys); empty otherwise. */
  metadata: Buffer
  summary: ExportSummary
  fileExtension: string
  mimeType: string
}

/** One error or warning of `validateOutput`. */
export interface Finding {
  location: Location
  code: string
  message: string
}

/** What `validateOutput` resolves with. */
export interface ValidationReport {
  records: number
  errors: Finding[]
  warnings: Finding[]
}

/** The seeds' ExportLog row (plus the file's hash and download count). */
export interface ExportLog {
  id: string
  export_id: string
  user_id: string
  timestamp: string
  format: ExportFormat
  config: ResolvedExportConfig
  conversation_count: number
  file_size: number | null
  status: ExportStatus
  file_url: string | null
  expires_at: string | null
  error_message: string | null
  created_at: string
  updated_at: string
  file_sha256: string | null
  download_count: number
  last_downloaded_at: string | null
}

/** One file of a dataset export, as its manifest lists it. */
export interface ExportFile {
  /** The name to download it by (`?file=`), and its path in the zip. */
  name: string
  /** Its object in the store, under `<user>/<export>/`. */
  object: string
  /** The split it belongs to (absent for the card, `README.md`). */
  split?: string
  conversations: number
  /** Bytes stored (compressed, when compressed). */
  bytes: number
  /** SHA-256 of the stored bytes. */
  sha256: string
}

/** A finished export file. */
export interface CompletedExport {
  export_id: string
  file_name: string
  file_size: number
  sha256: string
  expires_at: string
  conversation_count: number
  summary: ExportSummary
  /** A dataset export's files. */
  files?: ExportFile[]
}

/** What `createExport` resolves with: done now (201) or queued (202). */
export type CreateExportResult =
  | ({ status: 'completed'; http_status: 201 } & CompletedExport)
  | { status: 'queued'; http_status: 202; export_id: string }

/** The seeds' status response (GET /api/export/status/:id). */
export interface ExportStatusResponse {
  export_id: string
  status: ExportStatus
  /** 0–100 while queued or processing, 100 when completed. */
  progress?: number
  conversation_count: number
  file_size?: number
  file_url?: string
  file_name?: string
  error_message?: string
  expires_at?: string
  /** A dataset export's files, once completed. */
  files?: ExportFile[]
  /** Set while the export waits and no worker has been seen for 2 minutes. */
  warning?: string
}

/**
 * Filters and page of GET /api/export/history, typed or as the URL has them
 * (`Object.fromEntries(url.searchParams)`): an empty string is the default,
 * an unknown key or a bad value a 400 with its path.
 */
export interface HistoryQuery {
  format?: ExportFormat | ''
  status?: ExportStatus | ''
  /** RFC 3339, or `YYYY-MM-DD` (that day's start, UTC); exports created at or after. */
  from?: string
  /** RFC 3339, or `YYYY-MM-DD` (that day's end, UTC); exports created at or before. */
  to?: string
  /** From 1 (default 1); a number or its decimal string. */
  page?: number | string
  /** 1–100 (default 20); a number or its decimal string. */
  limit?: number | string
  /** The column the page is sorted by (default `created_at`; ties newest first). */
  sort?: 'created_at' | 'format' | 'status' | 'conversation_count' | 'file_size' | 'expires_at' | ''
  /** `asc` or `desc` (default `desc`). */
  order?: 'asc' | 'desc' | ''
  /** One user's exports (a UUID): `listAdminHistory` only; `listHistory` refuses it (400). */
  user?: string
}

/** One export of a history page. */
export type HistoryItem = ExportLog & { file_name: string | null; downloadable: boolean; files?: ExportFile[] }

/** A page of a user's exports. */
export interface HistoryPage {
  items: HistoryItem[]
  total: number
  page: number
  limit: number
  totalPages: number
  hasNext: boolean
  hasPrev: boolean
}

/** A checked download's status and headers (`inspectDownload`, the answer to HEAD). */
export interface DownloadInfo {
  exportId: string
  fileName: string
  contentType: string
  contentDisposition: string
  /** Bytes in the whole file; null for the zip of a dataset export, written as it is sent. */
  size: number | null
  sha256: string | null
  /** 200, 206 (a range), or 302 (a presigned redirect). */
  status: 200 | 206 | 302
  /** The body's bytes (`Content-Length`): the range's, 0 for a redirect, null for a zip. */
  contentLength: number | null
  /** `bytes START-END/SIZE` for a 206. */
  contentRange: string | null
  /** Where a 302 sends the client: a URL that works without credentials until `expiresAt`. */
  redirect: { url: string; expiresAt: string } | null
}

/** An opened download; `new Response(stream, { headers })` serves it. */
export interface DownloadHandle extends DownloadInfo {
  stream: ReadableStream<Uint8Array>
  /** Seconds `stream` may go unread before the service closes it (`downloadIdleTimeoutSecs`). */
  idleTimeoutSecs: number
}

/** What `download` is asked for. */
export interface DownloadOptions {
  /** One file of a dataset export, by its manifest name. */
  file?: string
  /** The request's `Range` header, as sent (`bytes=0-99`, `bytes=100-`, `bytes=-500`). */
  range?: string
  /** A HEAD request: the same checks and headers, not counted, no stream. */
  head?: boolean
  /** A presigned redirect when the store mints them (default: the client's `downloads` is `redirect`). */
  redirect?: boolean
}

/** `download`'s answer: `stream` is null for a HEAD and for a redirect. */
export interface DownloadAnswer extends DownloadInfo {
  stream: ReadableStream<Uint8Array> | null
  /** Seconds `stream` may go unread before the service closes it (`downloadIdleTimeoutSecs`). */
  idleTimeoutSecs: number
}

/** What the modal counts per scope (`countScopes`). */
export interface ScopeSelection {
  conversationIds?: string[]
  filters?: FilterConfig
}

/** Conversations each scope would export, by the export's own SQL. */
export interface ScopeCounts {
  selected: number
  filtered: number
  all: number
  all_data: number
}

/** A preview of an export request (`previewExport`). */
export interface ExportPreview {
  format: ExportFormat
  preview: string
  count: number
}

/** A page query of `listConversations`. */
export interface ConversationQuery {
  filters?: FilterConfig
  /** From 1. */
  page?: number
  /** 1–100, default 25. */
  limit?: number
}

/** One row of the conversations table. */
export interface ConversationRow {
  conversation_id: string
  title: string
  tier: TierType
  status: ConversationStatus
  quality_score: number
  persona: string | null
  emotion: string | null
  topic: string | null
  category: string[]
  turn_count: number
  created_at: string
}

/** A page of conversations, newest first. */
export interface ConversationPage {
  items: ConversationRow[]
  total: number
  page: number
  limit: number
  totalPages: number
}

/** One file of a dataset (`exportDataset`). */
export interface DatasetFile {
  name: string
  conversations: number
  /** Bytes stored (compressed, when compressed). */
  bytes: number
  /** SHA-256 of the stored bytes. */
  sha256: string
}

/** One split of a dataset (`exportDataset`). */
export interface DatasetSplit {
  name: string
  /** Its exact count. */
  conversations: number
  /** Bytes of its data before compression. */
  bytes: number
  /** Its conversations per tier. */
  tiers: Record<string, number>
  /** Its shards, in order. */
  files: DatasetFile[]
  /**
   * Its records skipped: with an object of splits, every skipped row of its
   * input; with a hashed split, those whose split was known (a malformed row has none).
   */
  skipped_total: number
  /** The first 100 of them; record numbers count within the split's input. */
  skipped: SkippedRecord[]
  /** Its conversations repeating (by id or turns) one of another split: leaks, warned about. */
  leaks: number
}

/** What `exportDataset` wrote: Python's `DatasetSummary.to_dict()`. */
export interface DatasetSummary {
  /** Each split, in the order of `split` (or of the object of splits). */
  splits: DatasetSplit[]
  duplicates_dropped: number
  duplicates_kept: number
  /** The seed of the split (not used with an object of splits). */
  seed: number
  /** `'hash'`: split by a seeded hash of each id; `'given'`: the object's own splits, kept. */
  split_by: 'hash' | 'given'
  /** Leaks between splits, in every split (each split's own is its `leaks`). */
  leaks: number
  /** The dataset card, `README.md`. */
  card: DatasetFile
  /** The whole export's summary: skipped records, warnings (the leaks among them), tokens. */
  export: ExportSummary
}

/**
 * The options of `exportDataset`: a request's `dataset` settings and
 * `progress`.
 */
export interface ExportDatasetOptions extends DatasetOptions {
  /**
   * Called after each batch of 1,024 records read, on the JavaScript thread,
   * with the records read so far and their total (`null` when a JSONL `Buffer`
   * is read); the last call has `done === total`. The export waits for it to
   * return, and for a promise it returns to settle. What it throws (or its
   * promise rejects with) stops the export: `exportDataset` rejects with that
   * very value, and no file is left.
   */
  progress?: ((done: number, total: number | null) => void | Promise<void>) | null
}

/** What `deleteExport` did. */
export interface DeleteReport {
  export_id: string
  status: ExportStatus
  cancelled: boolean
  file_deleted: boolean
}

/** What `importConversations` did. */
export interface ImportSummary {
  imported: number
  skipped: SkippedRecord[]
  /** Fields the tables have no column for, per field (`user_fields`: records); absent when none. */
  dropped_fields?: Record<string, number>
  /** Columns that are not the platform's, each with the records that had one; absent when none. */
  ignored_fields?: Record<string, number>
}

/** What a worker did. */
export interface WorkerReport {
  claimed: number
  completed: number
  retried: number
  failed: number
  stopped: number
  /** Scheduled maintenance runs this worker made. */
  maintenance_runs: number
  errors: number
  last_error: string | null
}

/** What `cleanupExpired` did. */
export interface CleanupReport {
  marked_expired: number
  files_deleted: number
  staged_files_deleted: number
  failures: Array<{ export_id: string; error: string }>
}

/** What `purgeOldLogs` deleted past the retention window. */
export interface PurgeReport {
  logs_deleted: number
  audit_events_deleted: number
}

/** Export metrics since an instant. */
export interface MetricsReport {
  since: string
  completed: number
  failed: number
  success_rate: number
  avg_duration_ms: Array<{ format: string; size_bucket: string; exports: number; avg_duration_ms: number }>
  format_distribution: Record<string, number>
  volume_per_hour: Array<{ hour: string; requested: number; bytes: number }>
  queue_depth: number
  running_jobs: number
  /** Seconds the oldest due job has waited for a worker (0 when none waits). */
  oldest_queued_secs: number
  /** Workers alive now: seen polling by their loop, or running a job, within `staleAfterSecs`. */
  live_workers: number
  /** The last heartbeat of any worker, RFC 3339. */
  last_worker_seen_at: string | null
  failure_rate_alert: boolean
  /** The scheduled maintenance runs started since `since`, oldest first. */
  maintenance: ScheduledRun[]
  /** Exports requested since `since`, by format and current status. */
  exports_by_status: Array<{ format: string; status: string; exports: number }>
  /** Run time (seconds) of exports completed since `since`, per format. */
  durations: Histogram[]
  /** File sizes of exports written since `since`, per format. */
  file_sizes: Array<{ format: string; files: number; total_bytes: number; avg_bytes: number; max_bytes: number }>
  /** Bytes of every downloadable file now (completed, neither expired nor deleted). */
  storage_bytes: number
  /** Users by the exports they requested since `since` (never a label per user). */
  exports_per_user: Histogram
  /** Seconds the longest-running export has run (0 when none runs). */
  longest_running_secs: number
  /** Request latency per route, as `recordRequest` (the route layer) recorded it in this process. */
  requests: Array<{ route: string; latency: Histogram; statuses: Record<string, number> }>
}

/** A histogram: cumulative counts at each upper bound (`+Inf` is `count`), the sum and count. */
export interface Histogram {
  label: string
  buckets: Array<[number, number]>
  sum: number
  count: number
}

/** One run of a scheduled maintenance task (`export_schedule_runs`). */
export interface ScheduledRun {
  task: 'expire_exports' | 'cleanup_files' | 'purge_logs'
  period_start: string
  worker_id: string
  started_at: string
  finished_at: string | null
  counts: Record<string, unknown> | null
  error: string | null
}

/**
 * Every function and method rejects (or throws) with this: `code` is the
 * core's stable code (`VALIDATION_ERROR`, `RATE_LIMITED`, `NOT_FOUND`, …),
 * `status` the HTTP status a route should answer; `name` is
 * `'LoraExportError'`. Check for it at run time with `isLoraExportError(e)`.
 */
export interface LoraExportError extends Error {
  name: 'LoraExportError'
  code: string
  status: number
  issues: ValidationIssue[]
  /** Seconds until a new request is accepted (status 429). */
  retryAfter?: number
  /** Bytes in the file, for a range outside it (status 416: `Content-Range: bytes *\/size`). */
  size?: number
  /**
   * Why a sign-in was refused (`code: 'INVALID_TOKEN'`, status 401):
   * `missing`, `malformed`, `algorithm_not_allowed`, `unknown_key`,
   * `bad_signature`, `expired`, `not_yet_valid`, `wrong_issuer`,
   * `wrong_audience`, `wrong_role` or `bad_subject`.
   */
  reason?: string
  /**
   * The id of an internal error (status 500): the error sink got its
   * cause under this id (`onError`, or a JSON line on stderr).
   */
  errorId?: string
}

/**
 * The callbacks of `ExportClient.connect`, beside the plain options. Each is
 * called on the JavaScript thread, after the operation that caused it;
 * it must not throw.
 */
export interface ClientHooks {
  /**
   * Every internal error (a client got only its code and `errorId`), every
   * failed attempt of a background job, every failure of `migrate`, a
   * worker's loop or `health`. Default: one JSON line per report on
   * stderr; `null` turns the log off.
   */
  onError?: ((report: ErrorReport) => void) | null
  /** Every export created, completed or failed (metrics). Default: none. */
  onEvent?: ((event: MetricEvent) => void) | null
}

/** The detail of a failure, for the operator (what `onError` receives). */
export interface ErrorReport {
  timestamp: string
  /** `create_export`, `status`, `run_worker`, `migrate`, `health`, … */
  operation: string
  code: string
  /** The `errorId` a caller got; null for an error whose message is already safe. */
  error_id: string | null
  /** The export, for a failed run of its job. */
  export_id: string | null
  /** Which attempt of the export's job failed (1 for the first). */
  attempt: number | null
  /** The cause: the database's words, the TLS or I/O error. */
  detail: string
}

/** An export created, completed or failed (what `onEvent` receives). */
export interface MetricEvent {
  timestamp: string
  export_id: string
  user_id: string
  format: string
  /** Time running it (`created`: checking and logging the request). */
  duration_ms: number
  file_size: number
  /** Conversations written (`created`: selected). */
  conversation_count: number
  status: 'created' | 'completed' | 'failed'
}

/** What `health()` answers: safe to expose from a health route. */
export interface Health {
  /** The database answers and its schema is current. */
  ok: boolean
  database: boolean
  migrations_current: boolean
  schema_version: number | null
  latest_version: number
  /** When a worker last claimed or beat a job, or started maintenance. */
  worker_seen_at: string | null
  /** What is wrong: a code and an error id (the cause went to `onError`). */
  problem: string | null
}
