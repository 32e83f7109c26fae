'use client'
// "Format": the four file formats, each with its use case; JSONL is the
// recommended one for LoRA training.
import type { ExportFormat, Issue } from './api'
import FieldIssues from './FieldIssues'

export const FORMATS: { value: ExportFormat; label: string; icon: string; useCase: string; details: string; recommended?: boolean }[] = [
  {
    value: 'jsonl',
    label: 'JSONL',
    icon: '📄',
    useCase: 'LoRA training: one conversation per line, ready for fine-tuning.',
    details: 'JSON Lines in the OpenAI, Anthropic or ShareGPT chat shape; streams and appends well.',
    recommended: true,
  },
  {
    value: 'json',
    label: 'JSON',
    icon: '🔧',
    useCase: 'Structured data: one document with every conversation and its fields.',
    details: 'A single JSON document with a version, export date and the conversations array.',
  },
  {
    value: 'csv',
    label: 'CSV',
    icon: '📊',
    useCase: 'Analysis and reporting: one row per turn, opens in a spreadsheet.',
    details: 'RFC 4180 CSV with a header row; cells that start like a formula are guarded.',
  },
  {
    value: 'markdown',
    label: 'Markdown',
    icon: '📝',
    useCase: 'Human review: readable transcripts with headings per conversation.',
    details: 'A Markdown document that renders in any viewer; good for reviewers.',
  },
]

export default function FormatSelector({
  value,
  onChange,
  issues,
}: {
  value: ExportFormat
  onChange: (format: ExportFormat) => void
  issues: Issue[]
}) {
  const errorId = 'format-issues'
  return (
    <fieldset className="group" aria-describedby={issues.length ? errorId : undefined} aria-invalid={issues.length > 0 || undefined}>
      <legend>Format</legend>
      <div className="options">
        {FORMATS.map((format) => (
          <label key={format.value} className={`option format ${value === format.value ? 'checked' : ''}`} title={format.details}>
            <input
              type="radio"
              name="export-format"
              value={format.value}
              checked={value === format.value}
              aria-labelledby={`format-name-${format.value}`}
              aria-describedby={`format-use-${format.value}`}
              onChange={() => onChange(format.value)}
            />
            <span className="option-icon" aria-hidden="true">
              {format.icon}
            </span>
            <span className="option-label" id={`format-name-${format.value}`}>
              {format.label}
              {format.recommended && <span className="badge recommended"> Recommended</span>}
            </span>
            <span className="option-desc" id={`format-use-${format.value}`}>
              {format.useCase}
            </span>
          </label>
        ))}
      </div>
      <FieldIssues id={errorId} issues={issues} />
    </fieldset>
  )
}
