'use client'
// The preview: the first 3 conversations as the library renders them for the
// chosen format and options ({basePath}/preview). JSON and JSONL are
// highlighted, CSV is a table, Markdown goes through the app's
// `renderMarkdown` (e.g. react-markdown with skipHtml) or shows as source.
// The body collapses behind a disclosure button (aria-expanded).
import { useId, useState, type ReactNode } from 'react'
import CsvTable from './CsvTable.js'
import type { Preview } from './hooks.js'
import JsonHighlight from './JsonHighlight.js'

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text)
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  const ok = document.execCommand('copy')
  area.remove()
  if (!ok) throw new Error('copy refused')
}

/** The props of `PreviewPane`. */
export interface PreviewPaneProps {
  preview: Preview | null
  loading: boolean
  error: string | null
  /** Renders Markdown (default: its source as text). */
  renderMarkdown?: (markdown: string) => ReactNode
  /** Whether the preview starts expanded (default true). */
  defaultOpen?: boolean
}

export default function PreviewPane({ preview, loading, error, renderMarkdown, defaultOpen = true }: PreviewPaneProps) {
  const [open, setOpen] = useState(defaultOpen)
  const bodyId = useId()
  const [copied, setCopied] = useState<'idle' | 'done' | 'failed'>('idle')
  const copy = async () => {
    if (!preview) return
    try {
      await copyText(preview.text)
      setCopied('done')
    } catch {
      setCopied('failed')
    }
    setTimeout(() => setCopied('idle'), 2000)
  }
  return (
    <section className="lx-preview" aria-labelledby="preview-heading" aria-busy={loading}>
      <div className="lx-preview-head">
        <h3 id="preview-heading">
          <button type="button" className="lx-disclosure" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
            Preview <span className="lx-muted lx-small">(first 3 conversations{preview ? `, ${preview.format.toUpperCase()}` : ''})</span>
          </button>
        </h3>
        <button type="button" className="lx-button lx-secondary" onClick={copy} aria-disabled={!preview || undefined}>
          Copy to clipboard
        </button>
        <span className="lx-muted lx-small" role="status">
          {copied === 'done' ? 'Copied' : copied === 'failed' ? 'Copy failed' : ''}
        </span>
      </div>
      <div id={bodyId} className="lx-preview-body" data-format={preview?.format} tabIndex={0} role="region" aria-label="Preview content" hidden={!open}>
        {error ? (
          <p className="lx-field-error">{error}</p>
        ) : !preview ? (
          <p className="lx-muted">{loading ? 'Loading preview…' : 'Nothing to preview.'}</p>
        ) : preview.text === '' ? (
          <p className="lx-muted">No conversations in this scope.</p>
        ) : preview.format === 'csv' ? (
          <CsvTable text={preview.text} />
        ) : preview.format === 'markdown' ? (
          <div className="lx-markdown">{renderMarkdown ? renderMarkdown(preview.text) : <pre>{preview.text}</pre>}</div>
        ) : (
          <pre>
            <JsonHighlight text={preview.text} lines={preview.format === 'jsonl'} />
          </pre>
        )}
      </div>
    </section>
  )
}
