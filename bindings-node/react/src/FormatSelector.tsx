'use client'
// "Format": the file formats, each with its use case; JSONL is the
// recommended one for LoRA training.
import type { ExportFormat, Issue } from './api.js'
import FieldIssues from './FieldIssues.js'
import FormatIcon from './FormatIcon.js'

export const FORMATS: { value: ExportFormat; label: string; useCase: string; details: string; recommended?: boolean }[] = [
  {
    value: 'jsonl',
    label: 'JSONL',
    useCase: 'LoRA training: one conversation per line.',
    details: 'JSON Lines in the OpenAI, Anthropic or ShareGPT chat shape, ready for fine-tuning; streams and appends well.',
    recommended: true,
  },
  {
    value: 'json',
    label: 'JSON',
    useCase: 'Structured data: one document, every field.',
    details: 'A single JSON document with a version, export date and the conversations array.',
  },
  {
    value: 'csv',
    label: 'CSV',
    useCase: 'Analysis and reporting: a row per turn.',
    details: 'RFC 4180 CSV with a header row, for a spreadsheet; cells that start like a formula are guarded.',
  },
  {
    value: 'markdown',
    label: 'Markdown',
    useCase: 'Human review: readable transcripts.',
    details: 'A Markdown document with a heading per conversation; renders in any viewer.',
  },
  {
    value: 'parquet',
    label: 'Parquet',
    useCase: 'Data tools: a typed table, a row per conversation.',
    details: 'Parquet with messages as a list of structs and the same columns in every file, for pandas, polars, DuckDB and Hugging Face datasets; compressed by Parquet itself.',
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
    <fieldset className="lx-group" aria-describedby={issues.length ? errorId : undefined} aria-invalid={issues.length > 0 || undefined}>
      <legend>Format</legend>
      <div className="lx-options lx-format-grid">
        {FORMATS.map((format) => (
          <label key={format.value} className={`lx-option lx-format ${value === format.value ? 'lx-checked' : ''}`} title={format.details}>
            <input
              type="radio"
              name="export-format"
              value={format.value}
              checked={value === format.value}
              aria-labelledby={`format-name-${format.value}`}
              aria-describedby={`format-use-${format.value}`}
              onChange={() => onChange(format.value)}
            />
            <span className="lx-option-icon">
              <FormatIcon format={format.value} />
            </span>
            <span className="lx-option-label" id={`format-name-${format.value}`}>
              {format.label}
              {format.recommended && <span className="lx-badge lx-recommended"> Recommended</span>}
            </span>
            <span className="lx-option-desc" id={`format-use-${format.value}`}>
              {format.useCase}
            </span>
          </label>
        ))}
      </div>
      <FieldIssues id={errorId} issues={issues} />
    </fieldset>
  )
}
