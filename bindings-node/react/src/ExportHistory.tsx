'use client'
// Export history (seed 004, "Export history and retry functionality"): the
// signed-in user's exports, paged, sortable, filtered by format, status and
// a date range, with Download, Delete and Retry; or, as `AdminExports`,
// every user's exports with a user filter (an administrator only).
import { useCallback, useRef, useState } from 'react'
import { ApiError, type HistoryItem } from './api.js'
import HistoryTable, { HISTORY_COLUMNS, type HistoryColumn, type HistoryOrder } from './HistoryTable.js'
import { useExportHistory } from './hooks.js'
import Pager from './Pager.js'
import { SignInNotice, type SignIn } from './SignIn.js'

const FORMAT_OPTIONS = [
  ['', 'Any format'],
  ['jsonl', 'JSONL'],
  ['json', 'JSON'],
  ['csv', 'CSV'],
  ['markdown', 'Markdown'],
  ['parquet', 'Parquet'],
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

/** The props of `ExportHistory`. */
export interface ExportHistoryProps {
  /** Where the routes of lora-export/next are mounted (default `/api/export`). */
  basePath?: string
  /** Where a signed-out user signs in: a URL, or a function. */
  signIn?: SignIn
  /** Rows per page (default 10, at most 100). */
  pageSize?: number
  /** The table's columns (default `HISTORY_COLUMNS`; the admin view adds `user`). */
  columns?: HistoryColumn[]
  /** Every user's exports from `{basePath}/admin/history`, with a user filter; no Delete or Retry. */
  admin?: boolean
}

const UNSORTED: HistoryOrder = { sort: 'created_at', order: 'desc' }

/** The history view: filters, a sortable table, its pages and the outcome of each action. */
export default function ExportHistory({ basePath, signIn, pageSize = 10, columns, admin = false }: ExportHistoryProps) {
  const [page, setPage] = useState(1)
  const [format, setFormat] = useState('')
  const [status, setStatus] = useState('')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [user, setUser] = useState('')
  const [order, setOrder] = useState<HistoryOrder>(UNSORTED)
  const [busyId, setBusyId] = useState<string | null>(null)
  const [message, setMessage] = useState<Message | null>(null)
  const [highlightId, setHighlightId] = useState<string | null>(null)
  const messageRef = useRef<HTMLParagraphElement>(null)
  const query = { page, limit: pageSize, format, status, from, to, sort: order.sort, order: order.order, ...(admin ? { user: user.trim() } : {}) }
  const history = useExportHistory(query, { basePath, admin })
  const { data, error, loading } = history

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
      const answer = await history.remove(item.export_id)
      say({
        tone: 'info',
        text: `Deleted ${item.file_name ?? item.export_id}${answer.cancelled ? ' (cancelled)' : ''}${answer.file_deleted ? ', file removed' : ''}.`,
      })
    } catch (e) {
      say(failure('Delete failed', e))
    } finally {
      setBusyId(null)
    }
  }

  const retry = async (item: HistoryItem) => {
    setBusyId(item.export_id)
    try {
      const created = await history.retry(item.export_id)
      setHighlightId(created.export_id)
      say({
        tone: 'info',
        text:
          created.status === 'completed'
            ? `Retried: new export ${created.file_name} is ready (${created.conversation_count} conversations).`
            : `Retried: new export ${created.export_id} is queued.`,
      })
      // The new export is the newest: show the first page of every export, newest first.
      setFormat('')
      setStatus('')
      setFrom('')
      setTo('')
      setOrder(UNSORTED)
      setPage(1)
    } catch (e) {
      say(failure('Retry failed', e))
    } finally {
      setBusyId(null)
    }
  }

  // Any change of a filter or the sort goes back to the first page.
  const filter = (set: (value: string) => void) => (event: { target: { value: string } }) => {
    set(event.target.value)
    setPage(1)
  }
  const invalid = error instanceof ApiError && error.status === 400 ? error.issues : []
  const refused = error instanceof ApiError && error.status === 403

  return (
    <div className="lx-root lx-history">
      <form className="lx-filters" aria-label="Filter exports" onSubmit={(e) => e.preventDefault()}>
        {admin && (
          <label className="lx-field">
            <span>User</span>
            <input type="search" value={user} placeholder="User id" spellCheck={false} onChange={filter(setUser)} />
          </label>
        )}
        <label className="lx-field">
          <span>Format</span>
          <select value={format} onChange={filter(setFormat)}>
            {FORMAT_OPTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="lx-field">
          <span>Status</span>
          <select value={status} onChange={filter(setStatus)}>
            {STATUS_OPTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="lx-field">
          <span>From</span>
          <input type="date" value={from} max={to || undefined} onChange={filter(setFrom)} />
        </label>
        <label className="lx-field">
          <span>To</span>
          <input type="date" value={to} min={from || undefined} onChange={filter(setTo)} />
        </label>
        <button type="button" className="lx-button lx-secondary" onClick={history.reload}>
          Refresh
        </button>
      </form>
      <p ref={messageRef} tabIndex={-1} role={message?.tone === 'error' ? 'alert' : 'status'} className={message ? `lx-message lx-${message.tone}` : 'lx-message'}>
        {message?.text}
      </p>
      {history.unauthorized ? (
        <SignInNotice message={(error as ApiError).message} signIn={signIn} />
      ) : refused ? (
        <p className="lx-field-error" role="alert">
          Only an administrator sees every user&apos;s exports ({(error as ApiError).code}).
        </p>
      ) : invalid.length > 0 ? (
        <ul className="lx-field-error" role="alert">
          {invalid.map((issue, i) => (
            <li key={i}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      ) : error ? (
        <p className="lx-field-error" role="alert">
          Could not load the history: {error instanceof Error ? error.message : String(error)}
        </p>
      ) : null}
      <div aria-busy={loading}>
        <HistoryTable
          items={data?.items ?? []}
          basePath={basePath}
          columns={columns ?? (admin ? ['file', 'user', ...HISTORY_COLUMNS.slice(1, -1)] : HISTORY_COLUMNS)}
          order={order}
          onSort={(next) => {
            setOrder(next)
            setPage(1)
          }}
          busyId={busyId}
          onDelete={admin ? undefined : remove}
          onRetry={admin ? undefined : retry}
          highlightId={highlightId}
          caption={admin ? "Every user's exports" : 'Exports'}
        />
      </div>
      {data && <Pager page={data.page} totalPages={data.totalPages} total={data.total} label="Export history" onPage={setPage} />}
    </div>
  )
}

/** Every user's exports with a user filter: `ExportHistory` for an administrator (`{basePath}/admin/history`). */
export function AdminExports(props: Omit<ExportHistoryProps, 'admin'>) {
  return <ExportHistory {...props} admin />
}
