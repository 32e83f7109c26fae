'use client'
// Export history (seed 004, "Export history and retry functionality"): the
// user's exports newest first, paged and filtered by format and status, with
// Download, Delete and Retry, and the audit trail as CSV.
import { useCallback, useEffect, useRef, useState } from 'react'
import {
  ApiError,
  deleteExport,
  exportHistory,
  retryExport,
  type HistoryItem,
  type HistoryPage,
} from '@/components/api'
import HistoryTable from '@/components/HistoryTable'
import Pager from '@/components/Pager'
import SignInNotice from '@/components/SignInNotice'

const PAGE_SIZE = 10

const FORMAT_OPTIONS = [
  ['', 'Any format'],
  ['jsonl', 'JSONL'],
  ['json', 'JSON'],
  ['csv', 'CSV'],
  ['markdown', 'Markdown'],
] as const

const STATUS_OPTIONS = [
  ['', 'Any status'],
  ['queued', 'Queued'],
  ['processing', 'Processing'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['expired', 'Expired'],
] as const

type Message = { tone: 'info' | 'error'; text: string }

export default function HistoryPageView() {
  const [page, setPage] = useState(1)
  const [format, setFormat] = useState('')
  const [status, setStatus] = useState('')
  const [data, setData] = useState<HistoryPage | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [busyId, setBusyId] = useState<string | null>(null)
  const [message, setMessage] = useState<Message | null>(null)
  const [highlightId, setHighlightId] = useState<string | null>(null)
  const [reload, setReload] = useState(0)
  const messageRef = useRef<HTMLParagraphElement>(null)

  useEffect(() => {
    const abort = new AbortController()
    setLoading(true)
    exportHistory({ page, limit: PAGE_SIZE, format, status }, abort.signal)
      .then((answer) => {
        setData(answer)
        setError(null)
      })
      .catch((e) => !abort.signal.aborted && setError(e))
      .finally(() => !abort.signal.aborted && setLoading(false))
    return () => abort.abort()
  }, [page, format, status, reload])

  // While an export on this page runs, the list refreshes itself.
  const running = data?.items.some((i) => i.status === 'queued' || i.status === 'processing') ?? false
  useEffect(() => {
    if (!running) return
    const timer = setTimeout(() => setReload((n) => n + 1), 1500)
    return () => clearTimeout(timer)
  }, [running, data])

  const say = useCallback((next: Message) => {
    setMessage(next)
    // The outcome takes focus: the row's button may be gone after a refresh.
    requestAnimationFrame(() => messageRef.current?.focus())
  }, [])

  const failure = (action: string, e: unknown): Message => {
    if (e instanceof ApiError) {
      if (e.status === 429) return { tone: 'error', text: `${action}: too many exports; try again in ${e.retryAfter ?? 60} s.` }
      return { tone: 'error', text: `${action}: ${e.message} (${e.code})` }
    }
    return { tone: 'error', text: `${action}: ${e instanceof Error ? e.message : String(e)}` }
  }

  const remove = async (item: HistoryItem) => {
    setBusyId(item.export_id)
    try {
      const answer = await deleteExport(item.export_id)
      say({
        tone: 'info',
        text: `Deleted ${item.file_name ?? item.export_id}${answer.cancelled ? ' (cancelled)' : ''}${answer.file_deleted ? ', file removed' : ''}.`,
      })
      setReload((n) => n + 1)
    } catch (e) {
      say(failure('Delete failed', e))
    } finally {
      setBusyId(null)
    }
  }

  const retry = async (item: HistoryItem) => {
    setBusyId(item.export_id)
    try {
      const created = await retryExport(item.export_id)
      setHighlightId(created.export_id)
      say({
        tone: 'info',
        text:
          created.status === 'completed'
            ? `Retried: new export ${created.file_name} is ready (${created.conversation_count} conversations).`
            : `Retried: new export ${created.export_id} is queued.`,
      })
      // The new export is the newest: show the first page of every export.
      setFormat('')
      setStatus('')
      setPage(1)
      setReload((n) => n + 1)
    } catch (e) {
      say(failure('Retry failed', e))
    } finally {
      setBusyId(null)
    }
  }

  const unauthorized = error instanceof ApiError && error.unauthorized
  return (
    <main className="page">
      <div className="page-head">
        <h1>Export history</h1>
        <div className="toolbar">
          <a className="button secondary" href="/api/export/audit">
            Download audit trail (CSV)
          </a>
          <a className="button secondary" href="/api/export/audit?all=1" title="Every user's audit trail; only for an admin (others get 403)">
            All users (admin)
          </a>
        </div>
      </div>
      <form className="filters" aria-label="Filter exports" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Format</span>
          <select
            value={format}
            onChange={(e) => {
              setFormat(e.target.value)
              setPage(1)
            }}
          >
            {FORMAT_OPTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Status</span>
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value)
              setPage(1)
            }}
          >
            {STATUS_OPTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
      </form>
      <p ref={messageRef} tabIndex={-1} role={message?.tone === 'error' ? 'alert' : 'status'} className={message ? `message ${message.tone}` : 'message'}>
        {message?.text}
      </p>
      {unauthorized ? (
        <SignInNotice message={(error as ApiError).message} />
      ) : error ? (
        <p className="field-error" role="alert">
          Could not load the history: {error instanceof Error ? error.message : String(error)}
        </p>
      ) : null}
      <div aria-busy={loading}>
        <HistoryTable items={data?.items ?? []} busyId={busyId} onDelete={remove} onRetry={retry} highlightId={highlightId} />
      </div>
      {data && <Pager page={data.page} totalPages={data.totalPages} total={data.total} label="Export history" onPage={setPage} />}
    </main>
  )
}
