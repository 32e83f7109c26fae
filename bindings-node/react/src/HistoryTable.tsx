'use client'
// The export history table: one row per export with its file, format,
// status (and why: the failure's reason, when it expires or expired),
// count, size and dates, and the actions it allows (Download when the file
// is there, Delete, Retry for a failed or expired export). A dataset export
// downloads as one zip, and lists its files, each a download of its own.
// Sortable column headers are buttons; the sorted one carries aria-sort.
import type { ReactNode } from 'react'
import { downloadUrl, formatBytes, type HistoryItem, type HistorySort } from './api.js'
import StatusBadge from './StatusBadge.js'

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

/** The table's columns; `actions` holds Download, Retry and Delete. */
export type HistoryColumn = 'file' | 'user' | 'format' | 'status' | 'conversations' | 'size' | 'created' | 'expires' | 'actions'

/** The columns of a user's history (`user` is added by the admin view). */
export const HISTORY_COLUMNS: HistoryColumn[] = ['file', 'format', 'status', 'conversations', 'size', 'created', 'expires', 'actions']

const HEADINGS: Record<HistoryColumn, { label: string; sort?: HistorySort; numeric?: boolean }> = {
  file: { label: 'File' },
  user: { label: 'User' },
  format: { label: 'Format', sort: 'format' },
  status: { label: 'Status', sort: 'status' },
  conversations: { label: 'Conversations', sort: 'conversation_count', numeric: true },
  size: { label: 'Size', sort: 'file_size', numeric: true },
  created: { label: 'Created', sort: 'created_at' },
  expires: { label: 'Expires', sort: 'expires_at' },
  actions: { label: 'Actions' },
}

/** A sort: the column and its direction. */
export interface HistoryOrder {
  sort: HistorySort
  order: 'asc' | 'desc'
}

/** Why an export reads as it does: the failure's reason, its expiry, or its progress. */
export function statusMessage(item: HistoryItem, now: Date = new Date()): string | null {
  switch (item.status) {
    case 'failed':
      return item.error_message ? `Failed: ${item.error_message}` : 'Failed (no reason recorded)'
    case 'expired':
      return item.expires_at ? `Expired ${when(item.expires_at)}; retry to export it again` : 'Expired; retry to export it again'
    case 'completed': {
      if (!item.expires_at) return null
      const hours = (new Date(item.expires_at).getTime() - now.getTime()) / 3_600_000
      return hours < 24 ? `Expires in ${Math.max(1, Math.round(hours))} h` : `Expires ${when(item.expires_at)}`
    }
    case 'queued':
      return 'Waiting for a worker'
    case 'processing':
      return 'Being written'
    default:
      return null
  }
}

/** The props of `HistoryTable`. */
export interface HistoryTableProps {
  items: HistoryItem[]
  /** Where the routes of lora-export/next are mounted (default `/api/export`): the download links. */
  basePath?: string
  /** The columns, in order (default `HISTORY_COLUMNS`). */
  columns?: HistoryColumn[]
  /** The current sort; with `onSort`, the sortable headers are buttons. */
  order?: HistoryOrder
  onSort?: (order: HistoryOrder) => void
  /** The export whose action is running (its buttons are disabled). */
  busyId?: string | null
  onDelete?: (item: HistoryItem) => void
  onRetry?: (item: HistoryItem) => void
  /** An export to highlight (e.g. the one a retry created). */
  highlightId?: string | null
  /** The user column's text (default: the user id). */
  userLabel?: (userId: string) => ReactNode
  /** The caption read by screen readers (default "Exports"). */
  caption?: string
}

export default function HistoryTable({
  items,
  basePath,
  columns = HISTORY_COLUMNS,
  order,
  onSort,
  busyId = null,
  onDelete,
  onRetry,
  highlightId = null,
  userLabel = (id) => id,
  caption = 'Exports',
}: HistoryTableProps) {
  const heading = (column: HistoryColumn) => {
    const { label, sort, numeric } = HEADINGS[column]
    const className = numeric ? 'lx-num' : undefined
    if (!sort || !onSort) {
      return (
        <th key={column} scope="col" className={className}>
          {label}
        </th>
      )
    }
    const active = order?.sort === sort
    const direction = active ? order.order : undefined
    const next: HistoryOrder = { sort, order: active && direction === 'desc' ? 'asc' : active ? 'desc' : numeric || sort === 'created_at' ? 'desc' : 'asc' }
    return (
      <th key={column} scope="col" className={className} aria-sort={direction === 'asc' ? 'ascending' : direction === 'desc' ? 'descending' : 'none'}>
        <button type="button" className="lx-sort" onClick={() => onSort(next)}>
          {label}
          <span aria-hidden="true" className="lx-sort-mark">
            {direction === 'asc' ? '▲' : direction === 'desc' ? '▼' : '↕'}
          </span>
        </button>
      </th>
    )
  }

  const cell = (column: HistoryColumn, item: HistoryItem, name: string) => {
    switch (column) {
      case 'file': {
        const message = statusMessage(item)
        return (
          <th key={column} scope="row" className="lx-file">
            {name}
            {message && <span className={`lx-status-message lx-small ${item.status === 'failed' ? 'lx-error-text' : 'lx-muted'}`}>{message}</span>}
            {item.files && item.downloadable && (
              <details className="lx-files">
                <summary>{item.files.length} files</summary>
                <ul>
                  {item.files.map((file) => (
                    <li key={file.name}>
                      <a href={downloadUrl(basePath, item.export_id, file.name)} download={file.name}>
                        {file.name}
                      </a>{' '}
                      <span className="lx-muted lx-small">
                        {file.split ? `${file.split} · ` : ''}
                        {file.conversations} conversations · {formatBytes(file.bytes)}
                      </span>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </th>
        )
      }
      case 'user':
        return (
          <td key={column} className="lx-user">
            {userLabel(item.user_id)}
          </td>
        )
      case 'format':
        return <td key={column}>{item.format.toUpperCase()}</td>
      case 'status':
        return (
          <td key={column}>
            <StatusBadge status={item.status} />
          </td>
        )
      case 'conversations':
        return (
          <td key={column} className="lx-num">
            {item.conversation_count}
          </td>
        )
      case 'size':
        return (
          <td key={column} className="lx-num">
            {formatBytes(item.file_size)}
          </td>
        )
      case 'created':
        return (
          <td key={column}>
            <time dateTime={item.created_at}>{when(item.created_at)}</time>
          </td>
        )
      case 'expires':
        return <td key={column}>{item.expires_at ? <time dateTime={item.expires_at}>{when(item.expires_at)}</time> : '—'}</td>
      case 'actions': {
        const retryable = item.status === 'failed' || item.status === 'expired'
        return (
          <td key={column}>
            <div className="lx-row-actions">
              {item.downloadable && (
                <a
                  className="lx-button lx-secondary"
                  href={downloadUrl(basePath, item.export_id)}
                  download={item.file_name ?? undefined}
                  aria-label={item.files ? `Download ${name} (all ${item.files.length} files)` : `Download ${name}`}
                >
                  Download
                </a>
              )}
              {retryable && onRetry && (
                <button type="button" className="lx-button lx-secondary" aria-label={`Retry ${name}`} disabled={busyId === item.export_id} onClick={() => onRetry(item)}>
                  Retry
                </button>
              )}
              {onDelete && (
                <button type="button" className="lx-button lx-danger" aria-label={`Delete ${name}`} disabled={busyId === item.export_id} onClick={() => onDelete(item)}>
                  Delete
                </button>
              )}
            </div>
          </td>
        )
      }
    }
  }

  return (
    <div className="lx-root lx-table-wrap">
      <table className="lx-data-table">
        <caption className="lx-visually-hidden">{caption}</caption>
        <thead>
          <tr>{columns.map(heading)}</tr>
        </thead>
        <tbody>
          {items.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="lx-empty">
                No exports yet.
              </td>
            </tr>
          )}
          {items.map((item) => {
            const name = item.file_name ?? `export ${item.export_id.slice(0, 8)}`
            return (
              <tr key={item.export_id} className={item.export_id === highlightId ? 'lx-highlight' : undefined} data-export-id={item.export_id}>
                {columns.map((column) => cell(column, item, name))}
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
