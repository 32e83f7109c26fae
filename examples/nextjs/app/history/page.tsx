'use client'
// Export history (seed 004): the user's exports from lora-export-react's
// ExportHistory (paged, sortable, filtered by format, status and dates, with
// Download, Delete and Retry), and the audit trail as CSV.
import { ExportHistory } from 'lora-export-react'

export default function HistoryPageView() {
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
      <ExportHistory signIn="/signin" />
    </main>
  )
}
