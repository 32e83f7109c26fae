// A small file icon per format (inline SVG: no icon font, no emoji font).
import type { ExportFormat } from './api.js'

const MARKS: Record<ExportFormat, React.ReactNode> = {
  jsonl: (
    <>
      <path d="M8 11h8M8 14h8M8 17h6" />
    </>
  ),
  json: (
    <>
      <path d="M10 10c-1.5 0-1.5 1-1.5 2s0 1.5-1 1.5c1 0 1 .5 1 1.5s0 2 1.5 2M14 10c1.5 0 1.5 1 1.5 2s0 1.5 1 1.5c-1 0-1 .5-1 1.5s0 2-1.5 2" />
    </>
  ),
  csv: (
    <>
      <path d="M7.5 10.5h9v7h-9zM7.5 14h9M12 10.5v7" />
    </>
  ),
  markdown: (
    <>
      <path d="M7.5 17v-5l2 2.5 2-2.5v5M14.5 12v5M13 15.5l1.5 1.5 1.5-1.5" />
    </>
  ),
  parquet: (
    <>
      <path d="M7.5 10.5h3v3h-3zM10.5 13.5h3v3h-3zM13.5 10.5h3v3h-3zM7.5 16.5h3M13.5 16.5h3" />
    </>
  ),
}

export default function FormatIcon({ format }: { format: ExportFormat }) {
  return (
    <svg className="lx-format-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <g fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round">
        <path d="M6 3h8l4 4v14H6z" />
        <path d="M14 3v4h4" />
        {MARKS[format]}
      </g>
    </svg>
  )
}
