'use client'
// The conversations page's filters: tiers, status, quality range, search.
// The form holds text as typed (a half-typed number is not a filter yet);
// `toFilterConfig` turns it into the API's FilterConfig.
import type { ConversationStatus, FilterConfig, TierType } from './api'

export interface FilterDraft {
  tiers: TierType[]
  status: '' | ConversationStatus
  min: string
  max: string
  search: string
}

export const EMPTY_FILTERS: FilterDraft = { tiers: [], status: '', min: '', max: '', search: '' }

const TIERS: { value: TierType; label: string }[] = [
  { value: 'template', label: 'Template' },
  { value: 'scenario', label: 'Scenario' },
  { value: 'edge_case', label: 'Edge case' },
]

export const STATUSES: { value: ConversationStatus; label: string }[] = [
  { value: 'draft', label: 'Draft' },
  { value: 'generated', label: 'Generated' },
  { value: 'pending_review', label: 'Pending review' },
  { value: 'approved', label: 'Approved' },
  { value: 'rejected', label: 'Rejected' },
  { value: 'needs_revision', label: 'Needs revision' },
  { value: 'failed', label: 'Failed' },
]

function score(text: string): number | undefined {
  if (text.trim() === '') return undefined
  const value = Number(text)
  return Number.isFinite(value) && value >= 0 && value <= 10 ? value : undefined
}

/** The FilterConfig of a draft: empty fields are left out; one quality bound alone takes 0 or 10 as the other; a reversed range is left out (the form flags it). */
export function toFilterConfig(draft: FilterDraft): FilterConfig {
  const filters: FilterConfig = {}
  if (draft.tiers.length > 0) filters.tierTypes = [...draft.tiers]
  if (draft.status) filters.statuses = [draft.status]
  const min = score(draft.min)
  const max = score(draft.max)
  if ((min !== undefined || max !== undefined) && (min ?? 0) <= (max ?? 10)) {
    filters.qualityRange = { min: min ?? 0, max: max ?? 10 }
  }
  // The service refuses a search term of 1–2 characters: it waits for the third.
  if ([...draft.search.trim()].length >= 3) filters.searchQuery = draft.search.trim()
  return filters
}

export default function Filters({ value, onChange }: { value: FilterDraft; onChange: (next: FilterDraft) => void }) {
  const set = (patch: Partial<FilterDraft>) => onChange({ ...value, ...patch })
  const minBad = value.min.trim() !== '' && score(value.min) === undefined
  const maxBad = value.max.trim() !== '' && score(value.max) === undefined
  const reversed = !minBad && !maxBad && (score(value.min) ?? 0) > (score(value.max) ?? 10)
  return (
    <form className="filters" role="search" aria-label="Filter conversations" onSubmit={(e) => e.preventDefault()}>
      <fieldset className="filter-tiers">
        <legend>Tier</legend>
        {TIERS.map((tier) => (
          <label key={tier.value} className="check">
            <input
              type="checkbox"
              checked={value.tiers.includes(tier.value)}
              onChange={(e) =>
                set({ tiers: e.target.checked ? [...value.tiers, tier.value] : value.tiers.filter((t) => t !== tier.value) })
              }
            />
            {tier.label}
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span>Status</span>
        <select value={value.status} onChange={(e) => set({ status: e.target.value as FilterDraft['status'] })}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field narrow">
        <span>Quality min</span>
        <input
          type="number"
          min={0}
          max={10}
          step={0.1}
          inputMode="decimal"
          value={value.min}
          aria-invalid={minBad || reversed || undefined}
          onChange={(e) => set({ min: e.target.value })}
        />
      </label>
      <label className="field narrow">
        <span>Quality max</span>
        <input
          type="number"
          min={0}
          max={10}
          step={0.1}
          inputMode="decimal"
          value={value.max}
          aria-invalid={maxBad || reversed || undefined}
          onChange={(e) => set({ max: e.target.value })}
        />
      </label>
      <label className="field grow">
        <span>Search</span>
        <input type="search" value={value.search} placeholder="Title, persona, topic…" onChange={(e) => set({ search: e.target.value })} />
      </label>
      <button type="button" className="secondary" onClick={() => onChange(EMPTY_FILTERS)}>
        Clear filters
      </button>
      {(minBad || maxBad || reversed) && (
        <p className="field-error" role="alert">
          {reversed ? 'Quality min is greater than max.' : 'Quality scores are numbers from 0 to 10.'}
        </p>
      )}
    </form>
  )
}
