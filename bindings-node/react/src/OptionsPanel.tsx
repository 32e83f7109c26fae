'use client'
// "Options": a collapsible panel with the six include flags, each with a
// tooltip (the label's title, and the same text as its description), and
// "Reset to Defaults" (the seeds' defaults).
import { useId, useState } from 'react'
import type { IncludeOptions, Issue } from './api.js'
import FieldIssues from './FieldIssues.js'
import { DEFAULT_INCLUDES } from './settings.js'

const OPTIONS: { key: keyof IncludeOptions; label: string; help: string }[] = [
  { key: 'includeMetadata', label: 'Include metadata', help: 'Title, tier, persona, emotion, topic and categories of each conversation.' },
  { key: 'includeQualityScores', label: 'Include quality scores', help: 'The overall quality score and its breakdown, where the conversation has one.' },
  { key: 'includeTimestamps', label: 'Include timestamps', help: 'When each conversation was created and last updated.' },
  { key: 'includeApprovalHistory', label: 'Include approval history', help: 'Every review action (approve, reject, revise) with reviewer, time and comment.' },
  { key: 'includeParentReferences', label: 'Include parent references', help: 'The template or scenario each conversation was generated from.' },
  { key: 'includeFullContent', label: 'Include full content', help: 'Every turn in full; off, each turn is cut to a short excerpt.' },
]

export default function OptionsPanel({
  value,
  onChange,
  issues,
}: {
  value: IncludeOptions
  onChange: (next: IncludeOptions) => void
  issues: Issue[]
}) {
  const [open, setOpen] = useState(issues.length > 0)
  const panelId = useId()
  const changed = OPTIONS.filter((o) => value[o.key] !== DEFAULT_INCLUDES[o.key]).length
  return (
    <section className="lx-group lx-options-panel">
      <button
        type="button"
        className="lx-disclosure"
        aria-expanded={open || issues.length > 0}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        Options
        <span className="lx-muted lx-small">{changed === 0 ? ' (defaults)' : ` (${changed} changed)`}</span>
      </button>
      <div id={panelId} className="lx-panel" hidden={!(open || issues.length > 0)}>
        <ul className="lx-checks">
          {OPTIONS.map((option) => (
            <li key={option.key} className="lx-tooltip-host">
              <label className="lx-check" title={option.help}>
                <input
                  type="checkbox"
                  name={option.key}
                  checked={value[option.key]}
                  aria-describedby={`help-${option.key}`}
                  onChange={(e) => onChange({ ...value, [option.key]: e.target.checked })}
                />
                {option.label}
              </label>
              <span role="tooltip" id={`help-${option.key}`} className="lx-tooltip">
                {option.help}
              </span>
            </li>
          ))}
        </ul>
        <button type="button" className="lx-button lx-secondary" onClick={() => onChange(DEFAULT_INCLUDES)}>
          Reset to Defaults
        </button>
        <FieldIssues id="options-issues" issues={issues} />
      </div>
    </section>
  )
}
