'use client'
// The conversations page: filters, a paged table with a checkbox per row,
// and "Export", which opens the export modal for the selection / filters.
import { useEffect, useRef, useState } from 'react'
import { ApiError, listConversations, type ConversationRow, type FilterConfig, type Page } from '@/components/api'
import ConversationsTable from '@/components/ConversationsTable'
import Filters, { EMPTY_FILTERS, toFilterConfig, type FilterDraft } from '@/components/Filters'
import { ExportModal, Pager, SignInNotice } from 'lora-export-react'
import ReactMarkdown from 'react-markdown'

const PAGE_SIZE = 25

export default function ConversationsPage() {
  const [draft, setDraft] = useState<FilterDraft>(EMPTY_FILTERS)
  const [filters, setFilters] = useState<FilterConfig>({})
  const [page, setPage] = useState(1)
  const [data, setData] = useState<Page<ConversationRow> | null>(null)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<unknown>(null)
  const [selected, setSelected] = useState<string[]>([])
  const [exporting, setExporting] = useState(false)
  const exportButton = useRef<HTMLButtonElement>(null)

  // The draft becomes the applied filters after a short pause in typing.
  const draftKey = JSON.stringify(toFilterConfig(draft))
  useEffect(() => {
    const timer = setTimeout(() => {
      setFilters((current) => (JSON.stringify(current) === draftKey ? current : JSON.parse(draftKey)))
      setPage(1)
    }, 250)
    return () => clearTimeout(timer)
  }, [draftKey])

  const filtersKey = JSON.stringify(filters)
  useEffect(() => {
    const abort = new AbortController()
    setLoading(true)
    listConversations({ filters: JSON.parse(filtersKey), page, limit: PAGE_SIZE }, abort.signal)
      .then((answer) => {
        setData(answer)
        setError(null)
      })
      .catch((e) => !abort.signal.aborted && setError(e))
      .finally(() => !abort.signal.aborted && setLoading(false))
    return () => abort.abort()
  }, [filtersKey, page])

  const selectedSet = new Set(selected)
  const toggle = (id: string, checked: boolean) =>
    setSelected((list) => (checked ? (list.includes(id) ? list : [...list, id]) : list.filter((x) => x !== id)))
  const togglePage = (ids: string[], checked: boolean) =>
    setSelected((list) => (checked ? [...list, ...ids.filter((id) => !list.includes(id))] : list.filter((x) => !ids.includes(x))))

  // When the dialog closes, focus goes back to the button that opened it
  // (after the commit that removed `inert` from the page).
  const wasOpen = useRef(false)
  useEffect(() => {
    if (exporting) wasOpen.current = true
    else if (wasOpen.current) {
      wasOpen.current = false
      exportButton.current?.focus()
    }
  }, [exporting])
  const close = () => setExporting(false)

  const unauthorized = error instanceof ApiError && error.unauthorized
  return (
    <>
      <main className="page" inert={exporting || undefined}>
        <div className="page-head">
          <h1>Conversations</h1>
          <div className="toolbar">
            <span className="muted" aria-live="polite">
              {selected.length} selected
            </span>
            {selected.length > 0 && (
              <button type="button" className="secondary" onClick={() => setSelected([])}>
                Clear selection
              </button>
            )}
            <button ref={exportButton} type="button" className="primary" aria-haspopup="dialog" onClick={() => setExporting(true)}>
              Export
            </button>
          </div>
        </div>
        <Filters value={draft} onChange={setDraft} />
        {unauthorized ? (
          <SignInNotice message={(error as ApiError).message} signIn="/signin" />
        ) : error ? (
          <p className="field-error" role="alert">
            Could not load the conversations: {error instanceof Error ? error.message : String(error)}
          </p>
        ) : null}
        <ConversationsTable rows={data?.items ?? []} selected={selectedSet} onToggle={toggle} onTogglePage={togglePage} loading={loading} />
        {data && <Pager page={data.page} totalPages={data.totalPages} total={data.total} label="Conversations" onPage={setPage} />}
      </main>
      {exporting && (
        <ExportModal
          selectedIds={selected}
          filters={filters}
          onClose={close}
          signIn="/signin"
          // react-markdown never renders raw HTML (skipHtml drops it outright).
          renderMarkdown={(markdown) => <ReactMarkdown skipHtml>{markdown}</ReactMarkdown>}
        />
      )}
    </>
  )
}
