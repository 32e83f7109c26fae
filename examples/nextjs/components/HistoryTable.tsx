'use client'
// The export history: one row per export with its file, format, status,
// count, size and dates, and the actions it allows (Download when the file
// is there, Delete, Retry for a failed or expired export). A dataset export
// downloads as one zip, and lists its files, each a download of its own.
import { downloadUrl, formatBytes, type HistoryItem } from './api'
import StatusBadge from './StatusBadge'

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

export default function HistoryTable({
  items,
  busyId,
  onDelete,
  onRetry,
  highlightId,
}: {
  items: HistoryItem[]
  busyId: string | null
  onDelete: (item: HistoryItem) => void
  onRetry: (item: HistoryItem) => void
  highlightId: string | null
}) {
  return (
    <div className="table-wrap">
      <table className="data-table">
        <caption className="visually-hidden">Exports</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Format</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">Conversations</th>
            <th scope="col" className="num">Size</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && (
            <tr>
              <td colSpan={8} className="empty">
                No exports yet.
              </td>
            </tr>
          )}
          {items.map((item) => {
            const name = item.file_name ?? `export ${item.export_id.slice(0, 8)}`
            const retryable = item.status === 'failed' || item.status === 'expired'
            return (
              <tr key={item.export_id} className={item.export_id === highlightId ? 'highlight' : undefined} data-export-id={item.export_id}>
                <th scope="row" className="file">
                  {name}
                  {item.error_message && <span className="muted small error-text"> {item.error_message}</span>}
                  {item.files && item.downloadable && (
                    <details className="files">
                      <summary>{item.files.length} files</summary>
                      <ul>
                        {item.files.map((file) => (
                          <li key={file.name}>
                            <a href={downloadUrl(item.export_id, file.name)} download={file.name}>
                              {file.name}
                            </a>{' '}
                            <span className="muted small">
                              {file.split ? `${file.split} · ` : ''}
                              {file.conversations} conversations · {formatBytes(file.bytes)}
                            </span>
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </th>
                <td>{item.format.toUpperCase()}</td>
                <td>
                  <StatusBadge status={item.status} />
                </td>
                <td className="num">{item.conversation_count}</td>
                <td className="num">{formatBytes(item.file_size)}</td>
                <td>
                  <time dateTime={item.created_at}>{when(item.created_at)}</time>
                </td>
                <td>{item.expires_at ? <time dateTime={item.expires_at}>{when(item.expires_at)}</time> : '—'}</td>
                <td>
                  <div className="row-actions">
                    {item.downloadable && (
                      <a
                        className="button secondary"
                        href={downloadUrl(item.export_id)}
                        download={item.file_name ?? undefined}
                        aria-label={item.files ? `Download ${name} (all ${item.files.length} files)` : `Download ${name}`}
                      >
                        Download
                      </a>
                    )}
                    {retryable && (
                      <button type="button" className="secondary" aria-label={`Retry ${name}`} disabled={busyId === item.export_id} onClick={() => onRetry(item)}>
                        Retry
                      </button>
                    )}
                    <button type="button" className="danger" aria-label={`Delete ${name}`} disabled={busyId === item.export_id} onClick={() => onDelete(item)}>
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
