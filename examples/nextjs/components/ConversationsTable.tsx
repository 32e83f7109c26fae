'use client'
// One page of conversations with a checkbox per row and a select-all for the
// page; the selection (ids) lives in the page and survives paging.
import { useEffect, useRef } from 'react'
import type { ConversationRow } from './api'
import { StatusBadge } from 'lora-export-react'

const TIER_LABELS: Record<string, string> = { template: 'Template', scenario: 'Scenario', edge_case: 'Edge case' }

export default function ConversationsTable({
  rows,
  selected,
  onToggle,
  onTogglePage,
  loading,
}: {
  rows: ConversationRow[]
  selected: ReadonlySet<string>
  onToggle: (id: string, checked: boolean) => void
  onTogglePage: (ids: string[], checked: boolean) => void
  loading: boolean
}) {
  const ids = rows.map((r) => r.conversation_id)
  const chosen = ids.filter((id) => selected.has(id)).length
  const all = ids.length > 0 && chosen === ids.length
  const some = chosen > 0 && !all
  const selectAll = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (selectAll.current) selectAll.current.indeterminate = some
  }, [some])

  return (
    <div className="table-wrap" aria-busy={loading}>
      <table className="data-table">
        <caption className="visually-hidden">Conversations</caption>
        <thead>
          <tr>
            <th scope="col" className="col-check">
              <input
                ref={selectAll}
                type="checkbox"
                aria-label="Select all conversations on this page"
                checked={all}
                disabled={ids.length === 0}
                onChange={(e) => onTogglePage(ids, e.target.checked)}
              />
            </th>
            <th scope="col">Title</th>
            <th scope="col">Tier</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">Quality</th>
            <th scope="col" className="num">Turns</th>
            <th scope="col">Persona</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={8} className="empty">
                {loading ? 'Loading…' : 'No conversations match these filters.'}
              </td>
            </tr>
          )}
          {rows.map((row) => (
            <tr key={row.conversation_id} className={selected.has(row.conversation_id) ? 'selected' : undefined}>
              <td className="col-check">
                <input
                  type="checkbox"
                  aria-label={`Select ${row.title}`}
                  checked={selected.has(row.conversation_id)}
                  onChange={(e) => onToggle(row.conversation_id, e.target.checked)}
                />
              </td>
              <td>
                <span className="title">{row.title}</span>
                <span className="muted small"> {row.conversation_id}</span>
              </td>
              <td>{TIER_LABELS[row.tier] ?? row.tier}</td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td className="num">{typeof row.quality_score === 'number' ? row.quality_score.toFixed(1) : '—'}</td>
              <td className="num">{row.turn_count}</td>
              <td>{row.persona ?? '—'}</td>
              <td>
                <time dateTime={row.created_at}>{new Date(row.created_at).toLocaleDateString()}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
