'use client'
// "Export scope": which conversations, each option with its live count
// (from /api/export/count, counted by the same SQL as the export). Native
// radios with one name: Tab enters the group, the arrow keys move in it.
import type { ExportCounts, ExportScope, Issue } from './api.js'
import FieldIssues from './FieldIssues.js'

const SCOPES: { value: ExportScope; label: string; unit: string }[] = [
  { value: 'selected', label: 'Selected conversations', unit: 'selected' },
  { value: 'filtered', label: 'Current filters', unit: 'matching' },
  { value: 'all', label: 'All approved', unit: 'approved' },
  { value: 'all_data', label: 'All data', unit: 'total' },
]

export default function ScopeSelector({
  value,
  onChange,
  counts,
  loading,
  issues,
}: {
  value: ExportScope
  onChange: (scope: ExportScope) => void
  counts: ExportCounts | null
  loading: boolean
  issues: Issue[]
}) {
  const errorId = 'scope-issues'
  return (
    <fieldset className="lx-group" aria-describedby={issues.length ? errorId : undefined} aria-invalid={issues.length > 0 || undefined}>
      <legend>Export scope</legend>
      <div className="lx-options">
        {SCOPES.map((scope) => {
          const count = counts?.[scope.value]
          return (
            <label key={scope.value} className={`lx-option ${value === scope.value ? 'lx-checked' : ''}`}>
              <input
                type="radio"
                name="export-scope"
                value={scope.value}
                checked={value === scope.value}
                onChange={() => onChange(scope.value)}
              />
              <span className="lx-option-label">{scope.label}</span>
              <span className="lx-badge lx-count" id={`scope-count-${scope.value}`} aria-busy={loading || undefined}>
                {count === undefined ? '…' : `${count} ${scope.unit}`}
              </span>
            </label>
          )
        })}
      </div>
      <FieldIssues id={errorId} issues={issues} />
    </fieldset>
  )
}
