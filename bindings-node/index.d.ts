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

/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1'

/**
 * The export service: create, status, download, history, delete,
 * workers, cleanup, purge, metrics, migrations and import. Create one per process
 * with `await ExportClient.connect(databaseUrl, options)`; every method
 * returns a promise and runs off the JavaScript thread.
 */
export declare class ExportClient {
  /**
   * A client for PostgreSQL (one pool for this client): the options are
   * checked (a `CONFIG_ERROR` rejects), no connection is opened. Each
   * operation connects as it needs to, so an unreachable database fails
   * that operation (with its cause for the operator: `migrate`, `health`,
   * `onError`) and never the client: it serves again once the database
   * is back. Options left out come from the environment; `onError` and
   * `onEvent` (see `ClientHooks`) receive error reports and metric events.
   */
  static connect(databaseUrl: string, options?: ClientOptions & ClientHooks): Promise<ExportClient>
  /**
   * The service's health, safe to expose from a health route: whether
   * the database answers, its schema is current, when a worker was last
   * seen; `problem` names a code and an error id (the cause goes to
   * `onError`). Never rejects.
   */
  health(): Promise<Health>
  /**
   * Applies pending schema migrations; resolves with the versions applied.
   * Creates nothing in `auth`; on a database without Supabase's roles and
   * `auth` objects it rejects (`CONFIG_ERROR`, naming them) unless
   * `supabaseStandIns` asks for stand-ins.
   */
  migrate(options?: MigrateOptions): Promise<number[]>
  /**
   * Loads canonical JSONL conversations from a file path or a `Buffer`
   * (upserting by `conversation_id`); malformed lines are listed.
   */
  importConversations(pathOrBuffer: string | Buffer): Promise<ImportSummary>
  /**
   * The id of the `auth.users` user with `email`, created when there is
   * none: a test user for a local or development database (on a hosted
   * Supabase project, create users with Supabase Auth instead).
   */
  createDevUser(email: string): Promise<string>
  /**
   * Verifies a Supabase access token (HS256 with `jwtSecret`, ES256/RS256
   * with the project's JWKS) and resolves with its `Session`. Rejects 401
   * with `code: 'INVALID_TOKEN'` and a `reason` (`expired`,
   * `wrong_audience`, `algorithm_not_allowed`, …).
   */
  verifySession(token: string): Promise<Session>
  /**
   * The `Session` of a request: its `Authorization: Bearer` token, else
   * the auth cookie `@supabase/ssr` sets (chunked or not), verified as
   * `verifySession` does. Pass `request.headers.get('authorization')`
   * and `request.headers.get('cookie')`. Rejects 401 (`reason:
   * 'missing'` without either).
   */
  authenticate(authorization?: string | null, cookie?: string | null): Promise<Session>
  /**
   * Creates an export for `user` from an untrusted request body:
   * fewer than `syncThreshold` conversations are exported at once
   * (`{ status: 'completed', http_status: 201, … }`), larger ones are queued
   * (`{ status: 'queued', http_status: 202, export_id }`). Rejects with
   * status 400 (with `issues`), 429 (with `retryAfter`) or 409.
   */
  createExport(user: Session | string, body: unknown): Promise<CreateExportResult>
  /**
   * The status of one of `user`'s exports, with progress while it runs
   * (rejects 403 for another user's export, 404 for an unknown one).
   */
  getStatus(user: Session | string, exportId: string): Promise<ExportStatusResponse>
  /**
   * Opens a completed export for download: its file name, headers, size,
   * SHA-256 and a web `ReadableStream` of its bytes (`new Response(stream)`).
   * A dataset export is one zip of all its files (no size, no SHA-256),
   * or with `file` the one file of that manifest name
   * (`train-00000-of-00002.jsonl`, `README.md`). Rejects 410 when
   * expired, 425 while running, 409 when failed, 403, 404 (also for a
   * `file` the manifest does not list).
   */
  openDownload(user: Session | string, exportId: string, file?: string): Promise<DownloadHandle>
  /**
   * A download as an HTTP route answers it: `options.file` one file of
   * a dataset export; `range` the request's `Range` header (one range is
   * served as `status` 206 with `contentRange`; a range outside the file
   * rejects 416 with the file's `size`); `head` checks and answers the
   * headers without counting a download (`stream` null); `redirect`
   * (default: the client's `downloads` is `redirect`) answers `status`
   * 302 with a presigned URL minted for this request, when the store
   * mints them (object storage; never a zip, never a `HEAD`). Counted and
   * audited like `openDownload`, except a `HEAD` and a range past the
   * first byte. An unknown option key is a `CONFIG_ERROR`.
   */
  download(user: Session | string, exportId: string, options?: DownloadOptions): Promise<DownloadAnswer>
  /**
   * A page of `user`'s exports, newest first (or by `sort` and `order`),
   * filtered by `format`, `status`, `from`, `to` (RFC 3339), with `page`
   * (from 1) and `limit` (1–100, default 20). Rejects 400 with `issues`
   * for a bad query.
   */
  listHistory(user: Session | string, query?: HistoryQuery): Promise<HistoryPage>
  /**
   * A page of every user's exports (`query.user`: one user's), for an
   * administrator — a session whose verified token's `app_metadata.role`
   * is `admin` — else rejects 403 `ADMIN_REQUIRED`. Filters, sort and
   * page as `listHistory`.
   */
  listAdminHistory(user: Session | string, query?: HistoryQuery): Promise<HistoryPage>
  /**
   * Deletes one of `user`'s exports: cancels a queued or running job,
   * removes the file, keeps the audit trail.
   */
  deleteExport(user: Session | string, exportId: string): Promise<DeleteReport>
  /**
   * Runs a background worker on this client until `stopWorkers()` or
   * `close()` (or `maxJobs`), sharing the queue with every other worker;
   * resolves with what it did.
   */
  runWorker(options?: RunWorkerOptions): Promise<WorkerReport>
  /** Runs up to `limit` queued jobs now; resolves with how many ran. */
  processJobs(limit: number): Promise<number>
  /** Asks every worker of this client to return after its current job. */
  stopWorkers(): void
  /**
   * Runs the maintenance tasks whose latest scheduled period nobody has
   * run yet (each period runs once across every process): the call for a
   * cron route when no long-running worker runs them.
   */
  runDueMaintenance(workerId?: string): Promise<ScheduledRun[]>
  /** Marks expired exports and deletes their files (and abandoned staged files). */
  cleanupExpired(): Promise<CleanupReport>
  /**
   * Deletes export logs (and their jobs) and audit events older than
   * `retentionDays`; each audit chain still verifies from its anchor.
   */
  purgeOldLogs(): Promise<PurgeReport>
  /**
   * Export metrics since `since` (a `Date` or an RFC 3339 string):
   * success rate, durations, formats, hourly volume, queue depth.
   */
  metrics(since: Date | string): Promise<MetricsReport>
  /**
   * The metrics of the last hour in the Prometheus text exposition
   * format, what `exportRoutes(...).metrics` serves: the numbers of
   * `metrics()`, as gauges, counters and histograms.
   */
  prometheusMetrics(): Promise<string>
  /**
   * Records one answered request of the route layer (what
   * `exportRoutes` does for each): its route name (letters, digits, `_`;
   * at most 32 names, the rest count as `other`), HTTP status and
   * duration in milliseconds. `metrics()` reports them as `requests`.
   */
  recordRequest(route: string, status: number, durationMs: number): void
  /** Stops this client's workers and closes its connection pool. */
  close(): void
  /**
   * A page of the conversations `user` can read, newest first: `body` is
   * `{ filters?, page?, limit? }` (filters as an export request's; limit
   * 1–100, default 25). Rejects 400 with `issues` at their paths.
   */
  listConversations(user: Session | string, body?: ConversationQuery): Promise<ConversationPage>
  /**
   * How many conversations each scope would export for `body`
   * (`{ conversationIds?, filters? }`), counted by the export's own SQL:
   * `{ selected, filtered, all, all_data }`. Rejects 400 with `issues`.
   */
  countScopes(user: Session | string, body?: ScopeSelection): Promise<ScopeCounts>
  /**
   * The first `n` (1–10, default 3) conversations the export request
   * `body` selects, rendered exactly as the export writes them:
   * `{ format, preview, count }`. Logs nothing. Rejects 400 with `issues`.
   */
  previewExport(user: Session | string, body: unknown, n?: number): Promise<ExportPreview>
  /**
   * A new export from `user`'s failed or expired export's stored request,
   * answered like `createExport` (and rate-limited like it). Rejects 409
   * `NOT_RETRYABLE` for one that is queued, processing or completed.
   */
  retryExport(user: Session | string, exportId: string): Promise<CreateExportResult>
  /**
   * What `openDownload` would answer — the same checks and rejections,
   * the same headers' values — without counting a download or opening a
   * stream: the answer to `HEAD` (of one `file` of a dataset export
   * when given).
   */
  inspectDownload(user: Session | string, exportId: string, file?: string): Promise<DownloadInfo>
  /**
   * The audit trail as CSV text (header `created_at,export_id,user_id,
   * seq,event,detail,prev_hash,hash`, oldest first): the user's own, or
   * with `{ allUsers: true }` every user's, for an administrator's session.
   */
  auditTrailCsv(user: Session | string, options?: AuditTrailOptions): Promise<string>
}

/** A verified sign-in. Pass it wherever a method takes `user`. */
export declare class Session {
  /** The user's id (the token's `sub`). */
  get userId(): string
  /** The user's email, when the token carries one. */
  get email(): string | null
  /** When the token expires (RFC 3339). */
  get expiresAt(): string
  /** Whether the user signed in anonymously. */
  get isAnonymous(): boolean
  /** The token's `app_metadata.role` (which only the project can set), if any. */
  get appRole(): string | null
  /** Whether `app_metadata.role` is `admin`: may read every user's audit trail. */
  get isAdmin(): boolean
}

/** Options of `auditTrailCsv`; an unknown key is a `CONFIG_ERROR`. */
export interface AuditTrailOptions {
  /**
   * Every user's events instead of the user's own: an administrator's
   * session only (`app_metadata.role` is `admin`), else 403 `ADMIN_REQUIRED`.
   */
  allUsers?: boolean
}

/**
 * Settings of a client; each overrides the environment variable named
 * in parentheses (read when the option is absent), then the core's default.
 * An unknown key, or a value of the wrong type or range, is a `CONFIG_ERROR`.
 * The TypeScript shape of the service's `ServiceOptions`, which
 * `ExportClient.connect` reads the object as (the one options type of both
 * bindings).
 */
export interface ClientOptions {
  /** Where export files are written (`LORA_EXPORT_STORAGE_ROOT`, default `./export-files`). */
  storageRoot?: string
  /**
   * Where export files are stored instead: `file:///path` or
   * `s3://bucket/prefix` with the `AWS_*` variables (`LORA_EXPORT_STORAGE_URL`).
   */
  storageUrl?: string
  /**
   * `stream` (through the server) or `redirect` (302 to a presigned URL
   * when the store mints them) (`LORA_EXPORT_DOWNLOADS`, `stream`).
   */
  downloads?: string
  /**
   * Seconds a presigned download URL lives, never past the export's expiry
   * (`LORA_EXPORT_PRESIGN_TTL_SECS`, 300).
   */
  presignTtlSecs?: number
  /** Hours a file stays downloadable (`LORA_EXPORT_EXPIRY_HOURS`, 24). */
  expiryHours?: number
  /** Exports of at least this many conversations are queued (`LORA_EXPORT_SYNC_THRESHOLD`, 500). */
  syncThreshold?: number
  /** Export requests per user per rolling hour (`LORA_EXPORT_RATE_LIMIT`, 10). */
  rateLimitPerHour?: number
  /** Days export logs are kept (`LORA_EXPORT_RETENTION_DAYS`, 30). */
  retentionDays?: number
  /** Conversations read per database batch (`LORA_EXPORT_BATCH_SIZE`, 2,000). */
  batchSize?: number
  /** Connections in the client's pool (`LORA_EXPORT_POOL_SIZE`, 16; 2 in a serverless function). */
  poolSize?: number
  /** Attempts of a background job before it fails (`LORA_EXPORT_MAX_ATTEMPTS`, 3). */
  maxAttempts?: number
  /** Seconds without a heartbeat before a job is rescued (`LORA_EXPORT_STALE_AFTER_SECS`, 30). */
  staleAfterSecs?: number
  /**
   * Milliseconds a statement of a count, preview or conversations page may
   * run (`LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS`, 5000); then 503.
   */
  interactiveStatementTimeoutMs?: number
  /**
   * Counts, previews and conversation pages per user per minute
   * (`LORA_EXPORT_INTERACTIVE_RATE_LIMIT`, 120); then 429 with `retryAfter`.
   */
  interactiveRateLimit?: number
  /** Of those, how many of one user run at once (`LORA_EXPORT_INTERACTIVE_CONCURRENCY`, 2). */
  interactiveConcurrency?: number
  /** Downloads of one user streaming at once (`LORA_EXPORT_DOWNLOADS_PER_USER`, 4). */
  downloadsPerUser?: number
  /**
   * Seconds a download may go unread before it is closed
   * (`LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS`, 60).
   */
  downloadIdleTimeoutSecs?: number
  /**
   * Conversations one export may select
   * (`LORA_EXPORT_MAX_CONVERSATIONS`, 100,000); more: 413 `EXPORT_TOO_LARGE`.
   */
  maxConversations?: number
  /**
   * MiB one export file may hold (`LORA_EXPORT_MAX_FILE_MB`, 1,024);
   * more: the export fails, 413 `EXPORT_TOO_LARGE`.
   */
  maxFileMb?: number
  /**
   * MiB of a user's downloadable files at which a new export is refused
   * (`LORA_EXPORT_STORAGE_QUOTA_MB`, 2,048): 429 `STORAGE_QUOTA_EXCEEDED`
   * with `retryAfter`; expired and deleted files free it.
   */
  storageQuotaMb?: number
  /**
   * Exports of one user queued or running at once
   * (`LORA_EXPORT_MAX_JOBS_PER_USER`, 3); more: 429 `QUEUE_FULL`.
   */
  maxJobsPerUser?: number
  /**
   * Jobs waiting for a worker, every user's
   * (`LORA_EXPORT_MAX_QUEUED_JOBS`, 1,000); more: 429 `QUEUE_FULL`.
   */
  maxQueuedJobs?: number
  /**
   * The Supabase project URL (`SUPABASE_URL`): tokens' issuer, the JWKS
   * location and the auth cookie's name derive from it.
   */
  supabaseUrl?: string
  /** The project's JWT secret, for HS256 tokens (`SUPABASE_JWT_SECRET`). */
  jwtSecret?: string
  /**
   * The key that seals the audit chain with HMAC-SHA256, held outside
   * the database (`LORA_EXPORT_AUDIT_KEY`).
   */
  auditKey?: string
  /**
   * Where the project's JWKS is fetched (`LORA_EXPORT_JWKS_URL`, default
   * `$SUPABASE_URL/auth/v1/.well-known/jwks.json`).
   */
  jwksUrl?: string
  /** The project's public keys as JWKS JSON, instead of fetching them (`LORA_EXPORT_JWKS`). */
  jwks?: string
  /**
   * Whether sessions of Supabase's anonymous sign-in may export
   * (`LORA_EXPORT_ALLOW_ANONYMOUS`, false: 403 `ANONYMOUS_NOT_ALLOWED`).
   */
  allowAnonymous?: boolean
  /** The schema of the library's tables and functions (`LORA_EXPORT_SCHEMA`, `lora_export`). */
  schema?: string
  /**
   * The app's table or view of conversations, `schema.name`, read instead of the
   * library's own (`LORA_EXPORT_CONVERSATIONS_TABLE`); its columns are in the README.
   */
  conversationsTable?: string
  /**
   * The app's table or view of turns, `schema.name`, with `conversationsTable`
   * (`LORA_EXPORT_TURNS_TABLE`).
   */
  turnsTable?: string
}

/**
 * A safe `Content-Disposition: attachment` value for `fileName` (an ASCII
 * `filename` and an RFC 5987 `filename*`).
 */
export declare function contentDisposition(fileName: string): string

/**
 * Panics on purpose — on the JavaScript thread (`'sync'`), on the blocking
 * pool (`'blocking'`) or in a future on the tokio runtime (`'async'`) — so
 * the test suite can prove that a panic becomes an `INTERNAL` error
 * and never ends the process. Not for production use.
 */
export declare function debugPanic(where: 'sync' | 'blocking' | 'async'): Promise<never> | never

/**
 * Exports `conversations` (an array of conversation objects, a `Buffer`
 * of canonical JSONL, or an object of the user's own splits mapping each
 * split's name to one of those) with `config` (an `ExportConfig` or a
 * whole request) as a Hugging Face dataset directory `dir` (created; it
 * must be empty unless `overwrite`): each split's shards
 * (`train-00000-of-00002.jsonl.zst`) and a `README.md` card that
 * `datasets.load_dataset(dir)` reads. A conversation's split is decided by
 * a seeded hash of its id alone — or, with an object of splits, is the one
 * it was given (names checked as file names; `split` with it is a
 * `CONFIG_ERROR`; a conversation repeating one of an earlier split is a
 * leak, counted and warned). Resolves with each split's exact count,
 * skipped records, leaks and files (name, conversations, bytes and
 * SHA-256 of the stored bytes) and the export summary. `options` are a
 * request's `dataset` settings (`split`, `seed`, `dedupe`,
 * `maxRecordsPerShard`, `maxBytesPerShard`, `compression`, `overwrite`, …)
 * and `progress(done, total)`; an unknown key is a `CONFIG_ERROR`.
 */
export declare function exportDataset(conversations: ConversationInput[] | Buffer | Record<string, ConversationInput[] | Buffer>, dir: string, config: ExportConfig | ExportRequest, options?: ExportDatasetOptions): Promise<DatasetSummary>

/**
 * The seeds' download file name
 * `training-data-{tier}-{YYYY-MM-DD}-{count}.{extension}`, with the tier
 * and extension reduced to safe characters. `date` is `YYYY-MM-DD` or an
 * RFC 3339 instant (its UTC date is used).
 */
export declare function exportFileName(tierLabel: string, date: string, count: number, extension: string): string

/**
 * Whether `value` is an error this package threw or rejected with (its
 * `name` is `LoraExportError`, and it has a string `code` and a numeric
 * `status`): the run-time check behind the `LoraExportError` type.
 */
export declare function isLoraExportError(value: unknown): value is LoraExportError

/** Settings of [`ExportClient::migrate`]; an unknown key is a `CONFIG_ERROR`. */
export interface MigrateOptions {
  /**
   * Create stand-ins for Supabase's roles (`anon`, `authenticated`,
   * `service_role`) and `auth` objects (`auth.users`, `auth.uid()`,
   * `auth.jwt()`) where they are missing: for plain PostgreSQL (local
   * development, tests). Default false: a database without them is a
   * `CONFIG_ERROR` naming what is missing. On Supabase nothing is created
   * in `auth` either way.
   */
  supabaseStandIns?: boolean
}

/**
 * The lora-export schema as one SQL script for the library's `schema`
 * (default `lora_export`), to commit under `supabase/migrations` instead of
 * calling `client.migrate()` at run time; it records each migration, so a
 * later `migrate()` applies nothing twice. It creates nothing in `auth`; on
 * plain PostgreSQL, apply it with `lora_export.supabase_stand_ins=on` set in
 * the session (`PGOPTIONS`), as `migrate({ supabaseStandIns: true })` does.
 */
export declare function migrationSql(schema?: string | undefined | null): string

/**
 * Renders the first `n` (default 3) of `conversations` exactly as an
 * export with `config` would (the export modal's preview). A malformed
 * conversation rejects with `MALFORMED_RECORD` and its record number.
 */
export declare function preview(conversations: ConversationInput[], config: ExportConfig, n?: number): Promise<string>

/** Settings of [`ExportClient::run_worker`]; an unknown key is a `CONFIG_ERROR`. */
export interface RunWorkerOptions {
  /** Unique name of this worker (default `node-<pid>-<random>`). */
  workerId?: string
  /**
   * The longest pause in milliseconds when the queue is empty (default
   * 5000): the fallback to the notifications that wake it.
   */
  pollIntervalMs?: number
  /** Wake when a job is queued (LISTEN/NOTIFY; default true). */
  listen?: boolean
  /** Run the maintenance tasks that are due by the schedules (default true). */
  maintenance?: boolean
  /** Return after this many jobs (default: run until `stopWorkers()` or `close()`). */
  maxJobs?: number
  /** Pause in milliseconds after each batch, to spare a shared database. */
  throttleMs?: number
}

/**
 * Exports a small in-memory set of conversations with `config` (an
 * `ExportConfig`, or a whole request `{ config, conversationIds?, filters?,
 * compression? }` to apply a selection or filters, or to compress).
 * `conversations` is an array of conversation objects, or a `Buffer` of
 * canonical JSONL (or of one JSON array). The work runs off the JavaScript
 * thread; the promise resolves with the file's bytes (gzip or zstd with
 * `compression`: `fileExtension`, `mimeType` and the summary's `bytes` and
 * `sha256` are then the compressed file's), the metadata sidecar of JSONL
 * flavors that forbid extra keys, and the export summary. Malformed
 * records are listed in `summary.skipped` with their line (Buffer) or
 * 1-based record number.
 */
export declare function transform(conversations: ConversationInput[] | Buffer, config: ExportConfig | ExportRequest, options?: TransformOptions): Promise<TransformResult>

/** Options of [`transform`]. */
export interface TransformOptions {
  /**
   * The export's date (RFC 3339, e.g. `2025-11-01T12:00:00Z`), written
   * as the JSON format's `export_date`; default: now.
   */
  exportDate?: string
  /**
   * Reject at the first malformed record instead of listing it in
   * `summary.skipped` (default false).
   */
  failOnMalformed?: boolean
  /**
   * Write an empty export for an input with no conversation at all
   * (default false: it is rejected with code `NO_CONVERSATIONS`).
   */
  allowEmpty?: boolean
}

/**
 * Checks an untrusted export request body (`{ config, conversationIds?,
 * filters? }`) exactly as the API does: `{ ok: true, request }` with every
 * default filled in, or `{ ok: false, issues }` listing every problem with
 * its path.
 */
export declare function validateExportRequest(body: unknown): ValidationResult

/**
 * Checks an exported file (`data`) against `format`'s rules (and, for
 * JSONL, `jsonlFlavor`'s, default `openai`), streaming; resolves with every
 * error and warning found, each with its location.
 */
export declare function validateOutput(format: ExportFormat, data: Buffer | string, jsonlFlavor?: JsonlFlavor): Promise<ValidationReport>
