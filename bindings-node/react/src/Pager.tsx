'use client'
// Previous / Next with "Page X of Y", for the conversations and history tables.

export default function Pager({
  page,
  totalPages,
  total,
  label,
  onPage,
}: {
  page: number
  totalPages: number
  total: number
  label: string
  onPage: (page: number) => void
}) {
  const last = Math.max(1, totalPages)
  return (
    <nav className="lx-root lx-pager" aria-label={`${label} pages`}>
      <button type="button" className="lx-button lx-secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-live="polite">
        Page {Math.min(page, last)} of {last} · {total} {total === 1 ? 'item' : 'items'}
      </span>
      <button type="button" className="lx-button lx-secondary" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  )
}
