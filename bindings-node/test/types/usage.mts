// Typed usage of lora-export from an ES module, checked by `tsc --noEmit`
// against the generated index.d.ts (never run: it only has to type-check).
import { exportRoutes, type ExportRoutes } from 'lora-export/next'
import {
  ExportClient,
  contentDisposition,
  exportDataset,
  exportFileName,
  preview,
  transform,
  validateExportRequest,
  validateOutput,
  type ConversationInput,
  type CreateExportResult,
  type DatasetSplit,
  type DatasetSummary,
  type DownloadAnswer,
  type DownloadHandle,
  type ErrorReport,
  type ExportConfig,
  type ExportLog,
  type ExportRequest,
  type ExportStatusResponse,
  type FilterConfig,
  type Health,
  type HistoryPage,
  type LoraExportError,
  type MetricEvent,
  type PurgeReport,
  type TransformResult,
} from 'lora-export'

export async function usage(conversations: ConversationInput[], jsonl: Buffer): Promise<Response> {
  const config: ExportConfig = { scope: 'filtered', format: 'jsonl', jsonlFlavor: 'anthropic', includeMetadata: false }
  const filters: FilterConfig = { tierTypes: ['template', 'edge_case'], qualityRange: { min: 7, max: 10 } }

  const compressed: ExportRequest = { config, filters, compression: 'zstd' }
  void compressed
  const mapped: ExportRequest = { config, filters, columns: { dialog: 'messages' }, keepColumns: ['source'] }
  const ignored: Record<string, number> | undefined = (await transform(conversations, mapped)).summary.ignored_fields
  void ignored
  const checked = validateExportRequest({ config, filters })
  if (checked.ok) {
    const flavor: 'openai' | 'openai-dpo' | 'trl' | 'together' | 'fireworks' | 'bedrock-nova' | 'anthropic' | 'sharegpt' =
      checked.request.config.jsonlFlavor
    void flavor
  } else {
    for (const issue of checked.issues) console.log(issue.path, issue.code, issue.message)
  }

  const fromObjects: TransformResult = await transform(conversations, config, { exportDate: '2025-11-01T12:00:00Z' })
  const fromBuffer = await transform(jsonl, { config, filters, conversationIds: ['a'] }, { failOnMalformed: true })
  const bytes: Buffer = fromBuffer.data
  const conversationsWritten: number = fromObjects.summary.conversations + bytes.length
  void conversationsWritten
  const text: string = await preview(conversations, config, 3)
  const report = await validateOutput('jsonl', fromObjects.data, 'anthropic')
  const firstLine: number | undefined = report.errors[0]?.location.line
  void [text, firstLine]
  const name: string = exportFileName('template', '2025-10-29', 42, 'jsonl')
  const header: string = contentDisposition(name)
  void header

  // @ts-expect-error: 'xml' is not an ExportFormat
  await transform(conversations, { scope: 'all', format: 'xml' })
  // @ts-expect-error: a scope is required
  const noScope: ExportConfig = { format: 'csv' }
  void noScope

  const client: ExportClient = await ExportClient.connect('postgres://localhost/app', { storageRoot: '/tmp/exports', syncThreshold: 500 })
  await client.migrate()
  const applied: number[] = await client.migrate({ supabaseStandIns: true })
  void applied
  await client.importConversations('/data/conversations.jsonl')
  const created: CreateExportResult = await client.createExport('user-id', { config })
  if (created.status === 'completed') {
    const fileName: string = created.file_name
    const http: 201 = created.http_status
    void fileName, http
  } else {
    const http: 202 = created.http_status
    void http
  }
  const status: ExportStatusResponse = await client.getStatus('user-id', created.export_id)
  const progress: number | undefined = status.progress
  void progress
  const page: HistoryPage = await client.listHistory('user-id', { format: 'csv', status: 'completed', page: 1, limit: 20 })
  const log: ExportLog = page.items[0]
  const downloadable: boolean = page.items[0].downloadable && page.hasNext
  void [log, downloadable]
  await client.deleteExport('user-id', created.export_id)
  void client.runWorker({ pollIntervalMs: 500, throttleMs: 10 })
  const jobs: number = await client.processJobs(10)
  const metrics = await client.metrics(new Date())
  const rate: number = metrics.success_rate + jobs
  void rate
  await client.cleanupExpired()
  const purged: PurgeReport = await client.purgeOldLogs()
  void [purged.logs_deleted, purged.audit_events_deleted]
  client.stopWorkers()
  client.close()

  try {
    const file: DownloadHandle = await client.openDownload('user-id', created.export_id)
    const stream: ReadableStream<Uint8Array> = file.stream
    const part: DownloadAnswer = await client.download('user-id', created.export_id, { range: 'bytes=0-99', redirect: false })
    if (part.redirect) return Response.redirect(part.redirect.url, 302)
    const status: 200 | 206 | 302 = part.status
    const range: string | null = part.contentRange
    if (range !== null && status === 206) return new Response(part.stream, { status, headers: { 'Content-Range': range } })
    return new Response(stream, { headers: { 'Content-Type': file.contentType, 'Content-Disposition': file.contentDisposition } })
  } catch (e) {
    const error = e as LoraExportError
    const headers: Record<string, string> = error.retryAfter ? { 'Retry-After': String(error.retryAfter) } : {}
    return Response.json({ error: error.code, issues: error.issues }, { status: error.status, headers })
  }
}

// lora-export/next: one call, one handler object per route file.
export const routes: ExportRoutes = exportRoutes({
  client: () => ExportClient.connect('postgres://localhost/app'),
  basePath: '/api/export',
  onError: (error: unknown, { errorId }) => console.error(errorId, error),
})

// A training set of the user's own splits, with progress: a typed summary.
export async function trainingSet(rows: ConversationInput[], jsonl: Buffer): Promise<number> {
  const seen: Array<[number, number | null]> = []
  const summary: DatasetSummary = await exportDataset({ train: rows, test: jsonl }, 'dataset', { scope: 'all', format: 'jsonl' }, {
    dedupe: true,
    overwrite: true,
    progress: (done, total) => { seen.push([done, total]) },
  })
  await exportDataset(rows, 'hashed', { scope: 'all', format: 'jsonl' }, { split: 'train=0.9,test=0.1', progress: async () => {} })
  const test: DatasetSplit | undefined = summary.splits.find((s) => s.name === 'test')
  const given: 'hash' | 'given' = summary.split_by
  // @ts-expect-error: progress is a function, not a flag
  await exportDataset(rows, 'x', { scope: 'all', format: 'jsonl' }, { progress: true })
  return given === 'given' ? summary.leaks + (test?.skipped_total ?? 0) + (test?.skipped[0]?.location.record ?? 0) : seen.length
}

// The client's hooks and health: typed reports, events and answer.
export async function hooked(): Promise<Health> {
  const client = await ExportClient.connect('postgres://localhost/app', {
    poolSize: 4,
    onError: (report: ErrorReport) => console.error(report.code, report.error_id, report.detail),
    onEvent: (event: MetricEvent) => console.log(event.status, event.duration_ms),
  })
  const health = await client.health()
  return health.ok ? health : Promise.reject(new Error(health.problem ?? 'unhealthy'))
}
export const { POST } = routes.create
export const { GET, HEAD } = routes.download
// @ts-expect-error: an unknown option is a type error too
exportRoutes({ client: routes as never, storgeRoot: '/tmp' })
