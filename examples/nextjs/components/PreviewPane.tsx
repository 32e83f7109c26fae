'use client'
// The preview: the first 3 conversations as the library renders them for the
// chosen format and options (/api/export/preview). JSON and JSONL are
// highlighted, CSV is a table, Markdown is rendered by react-markdown, which
// never renders raw HTML (skipHtml drops it outright).
import { useState } from 'react'
import ReactMarkdown from 'react-markdown'
import type { ExportFormat } from './api'
import CsvTable from './CsvTable'
import JsonHighlight from './JsonHighlight'

export interface PreviewState {
  format: ExportFormat
  text: string
  count: number
}

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

export default function PreviewPane({
  preview,
  loading,
  error,
}: {
  preview: PreviewState | null
  loading: boolean
  error: string | null
}) {
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
    <section className="preview" aria-labelledby="preview-heading" aria-busy={loading}>
      <div className="preview-head">
        <h3 id="preview-heading">
          Preview <span className="muted small">(first 3 conversations{preview ? `, ${preview.format.toUpperCase()}` : ''})</span>
        </h3>
        <button type="button" className="secondary" onClick={copy} aria-disabled={!preview || undefined}>
          Copy to clipboard
        </button>
        <span className="muted small" role="status">
          {copied === 'done' ? 'Copied' : copied === 'failed' ? 'Copy failed' : ''}
        </span>
      </div>
      <div className="preview-body" data-format={preview?.format} tabIndex={0} role="region" aria-label="Preview content">
        {error ? (
          <p className="field-error">{error}</p>
        ) : !preview ? (
          <p className="muted">{loading ? 'Loading preview…' : 'Nothing to preview.'}</p>
        ) : preview.text === '' ? (
          <p className="muted">No conversations in this scope.</p>
        ) : preview.format === 'csv' ? (
          <CsvTable text={preview.text} />
        ) : preview.format === 'markdown' ? (
          <div className="markdown">
            <ReactMarkdown skipHtml>{preview.text}</ReactMarkdown>
          </div>
        ) : (
          <pre>
            <JsonHighlight text={preview.text} lines={preview.format === 'jsonl'} />
          </pre>
        )}
      </div>
    </section>
  )
}
