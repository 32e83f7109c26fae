'use client'
// The seeds' export modal ("Prompt 5"): scope, format, JSONL flavor and
// system prompt, the include options, a live preview, and the export itself
// (201: a download link; 202: a progress bar polled until done; 400: each
// issue beside its field; 429: the wait). A modal dialog: focus moves in on
// open, Tab stays inside, Esc closes (the opener gets focus back).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import {
  ApiError,
  countExport,
  createExport,
  downloadUrl,
  exportStatus,
  previewExport,
  type CreatedExport,
  type ExportCounts,
  type FilterConfig,
  type Issue,
  type JsonlFlavor,
} from './api'
import ExportResult, { type ExportPhase } from './ExportResult'
import { buildRequest, loadSettings, saveSettings, type ExportSettings } from './exportSettings'
import FieldIssues from './FieldIssues'
import FormatSelector from './FormatSelector'
import OptionsPanel from './OptionsPanel'
import PreviewPane, { type PreviewState } from './PreviewPane'
import ScopeSelector from './ScopeSelector'

const POLL_MS = 500

const FLAVORS: { value: JsonlFlavor; label: string }[] = [
  { value: 'openai', label: 'OpenAI (messages)' },
  { value: 'anthropic', label: 'Anthropic (system + messages)' },
  { value: 'sharegpt', label: 'ShareGPT (conversations)' },
]

type Field = 'scope' | 'format' | 'flavor' | 'systemPrompt' | 'options' | 'general'

/** Which control an issue's path belongs beside. */
function fieldOf(path: string): Field {
  if (path === 'config.scope' || path.startsWith('conversationIds') || path.startsWith('filters')) return 'scope'
  if (path === 'config.format') return 'format'
  if (path === 'config.jsonlFlavor') return 'flavor'
  if (path === 'config.systemPrompt') return 'systemPrompt'
  if (path.startsWith('config.include')) return 'options'
  return 'general'
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** The dialog's Tab stops in order: a radio group counts once (its checked radio). */
function tabStops(root: HTMLElement): HTMLElement[] {
  const all = Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => el.getClientRects().length > 0 && !el.closest('[hidden]'),
  )
  return all.filter((el) => {
    if (!(el instanceof HTMLInputElement) || el.type !== 'radio' || !el.name) return true
    const group = all.filter((o): o is HTMLInputElement => o instanceof HTMLInputElement && o.type === 'radio' && o.name === el.name)
    const checked = group.find((o) => o.checked)
    return checked ? checked === el : group[0] === el
  })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export default function ExportModal({
  selectedIds,
  filters,
  onClose,
}: {
  selectedIds: string[]
  filters: FilterConfig
  onClose: () => void
}) {
  const [settings, setSettings] = useState<ExportSettings>(() => loadSettings())
  const [counts, setCounts] = useState<ExportCounts | null>(null)
  const [countsLoading, setCountsLoading] = useState(true)
  const [countsError, setCountsError] = useState<string | null>(null)
  const [preview, setPreview] = useState<PreviewState | null>(null)
  const [previewLoading, setPreviewLoading] = useState(true)
  const [previewError, setPreviewError] = useState<string | null>(null)
  const [phase, setPhase] = useState<ExportPhase>({ kind: 'idle' })
  const [issues, setIssues] = useState<Issue[]>([])
  const [signedOut, setSignedOut] = useState(false)
  const dialog = useRef<HTMLDivElement>(null)
  const downloadLink = useRef<HTMLAnchorElement>(null)
  const alive = useRef(true)

  const update = (patch: Partial<ExportSettings>) => setSettings((s) => ({ ...s, ...patch }))
  useEffect(() => saveSettings(settings), [settings])
  useEffect(() => {
    alive.current = true
    return () => {
      alive.current = false
    }
  }, [])

  // Focus moves into the dialog: the chosen scope.
  useEffect(() => {
    const root = dialog.current
    if (!root) return
    const first = root.querySelector<HTMLElement>('input[name="export-scope"]:checked') ?? tabStops(root)[0]
    first?.focus()
  }, [])

  const onKeyDown = (event: React.KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      onClose()
      return
    }
    if (event.key !== 'Tab' || !dialog.current) return
    // At either end Tab wraps around; elsewhere the browser moves the focus
    // (the focusin guard below catches anything that would leave).
    const stops = tabStops(dialog.current)
    if (stops.length === 0) return event.preventDefault()
    const active = document.activeElement
    if (event.shiftKey && active === stops[0]) {
      event.preventDefault()
      stops[stops.length - 1].focus()
    } else if (!event.shiftKey && active === stops[stops.length - 1]) {
      event.preventDefault()
      stops[0].focus()
    }
  }

  // Focus that lands outside the dialog (a click on the page behind, a
  // scroller Tab passed through) comes back in.
  useEffect(() => {
    const guard = (event: FocusEvent) => {
      const root = dialog.current
      if (root && event.target instanceof Node && !root.contains(event.target)) tabStops(root)[0]?.focus()
    }
    document.addEventListener('focusin', guard)
    return () => document.removeEventListener('focusin', guard)
  }, [])

  // Live counts per scope, refetched when the selection or the filters change.
  const countKey = JSON.stringify({ conversationIds: selectedIds, filters })
  useEffect(() => {
    const abort = new AbortController()
    setCountsLoading(true)
    countExport(JSON.parse(countKey), abort.signal)
      .then((answer) => {
        setCounts(answer)
        setCountsError(null)
      })
      .catch((error) => {
        if (abort.signal.aborted) return
        if (error instanceof ApiError && error.unauthorized) setSignedOut(true)
        setCountsError(`Counts unavailable: ${messageOf(error)}`)
      })
      .finally(() => !abort.signal.aborted && setCountsLoading(false))
    return () => abort.abort()
  }, [countKey])

  // The request the export would send (and the preview renders).
  const request = useMemo(() => buildRequest(settings, selectedIds, filters), [settings, selectedIds, filters])
  const requestKey = JSON.stringify(request)
  const noSelection = settings.scope === 'selected' && selectedIds.length === 0

  // The preview, refetched (debounced) when the format, options or scope change.
  useEffect(() => {
    if (noSelection) {
      setPreview(null)
      setPreviewLoading(false)
      setPreviewError('Select conversations in the table to preview them.')
      return
    }
    const abort = new AbortController()
    setPreviewLoading(true)
    const timer = setTimeout(() => {
      previewExport(JSON.parse(requestKey), abort.signal)
        .then((answer) => {
          setPreview({ format: answer.format, text: answer.preview, count: answer.count })
          setPreviewError(null)
        })
        .catch((error) => {
          if (abort.signal.aborted) return
          if (error instanceof ApiError && error.unauthorized) setSignedOut(true)
          const detail = error instanceof ApiError && error.issues.length ? error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : messageOf(error)
          setPreview(null)
          setPreviewError(`Preview unavailable: ${detail}`)
        })
        .finally(() => !abort.signal.aborted && setPreviewLoading(false))
    }, 150)
    return () => {
      clearTimeout(timer)
      abort.abort()
    }
  }, [requestKey, noSelection])

  // A completed export's link takes focus, so the keyboard goes on from there.
  useEffect(() => {
    if (phase.kind === 'completed') downloadLink.current?.focus()
  }, [phase.kind])

  const poll = useCallback(async (exportId: string) => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      if (!alive.current) return
      let status
      try {
        status = await exportStatus(exportId)
      } catch (error) {
        if (!alive.current) return
        setPhase({ kind: 'error', message: `Could not read the export's status: ${messageOf(error)}` })
        return
      }
      if (!alive.current) return
      if (status.status === 'completed') {
        setPhase({
          kind: 'completed',
          exportId,
          fileName: status.file_name ?? `${exportId}`,
          fileSize: status.file_size ?? null,
          count: status.conversation_count,
          downloadUrl: downloadUrl(exportId),
          queued: true,
        })
        return
      }
      if (status.status === 'failed' || status.status === 'expired') {
        setPhase({ kind: 'failed', exportId, message: status.error_message ?? status.status })
        return
      }
      setPhase({ kind: 'running', exportId, status: status.status, progress: status.progress ?? 0 })
    }
  }, [])

  const count = counts?.[settings.scope]
  const busy = phase.kind === 'submitting' || phase.kind === 'running'
  const blocked = busy || count === undefined || count === 0 || noSelection

  const submit = async () => {
    if (blocked) return
    setIssues([])
    setPhase({ kind: 'submitting' })
    let created: CreatedExport
    try {
      created = await createExport(request)
    } catch (error) {
      if (!alive.current) return
      if (error instanceof ApiError) {
        if (error.unauthorized) setSignedOut(true)
        setIssues(error.issues)
        const general = error.issues.filter((i) => fieldOf(i.path) === 'general')
        const message =
          error.status === 429
            ? 'Too many exports.'
            : error.issues.length > 0
              ? `The request was refused (${error.code}): see the fields marked below.${general.length ? ' ' + general.map((i) => `${i.path}: ${i.message}`).join('; ') : ''}`
              : `${error.message} (${error.code})`
        setPhase({ kind: 'error', message, retryAfter: error.status === 429 ? (error.retryAfter ?? 60) : undefined, signIn: error.unauthorized })
      } else {
        setPhase({ kind: 'error', message: `The export could not start: ${messageOf(error)}` })
      }
      return
    }
    if (!alive.current) return
    if (created.status === 'completed') {
      setPhase({
        kind: 'completed',
        exportId: created.export_id,
        fileName: created.file_name,
        fileSize: created.file_size,
        count: created.conversation_count,
        downloadUrl: created.download_url ?? downloadUrl(created.export_id),
        queued: false,
      })
    } else {
      setPhase({ kind: 'running', exportId: created.export_id, status: 'queued', progress: 0 })
      void poll(created.export_id)
    }
  }

  const issuesFor = (field: Field) => issues.filter((i) => fieldOf(i.path) === field)
  const flavorIssues = issuesFor('flavor')
  const promptIssues = issuesFor('systemPrompt')
  const label = count === undefined ? 'Export Conversations' : `Export ${count} ${count === 1 ? 'Conversation' : 'Conversations'}`

  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={dialog} className="dialog" role="dialog" aria-modal="true" aria-labelledby="export-title" onKeyDown={onKeyDown}>
        <header className="dialog-head">
          <h2 id="export-title">Export Conversations</h2>
          <button type="button" className="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {signedOut && (
          <p className="notice" role="alert">
            You are not signed in. <a href="/signin">Sign in</a>
          </p>
        )}
        <div className="dialog-body">
          <div className="settings">
            <ScopeSelector
              value={settings.scope}
              onChange={(scope) => update({ scope })}
              counts={counts}
              loading={countsLoading}
              issues={issuesFor('scope')}
            />
            {countsError && <p className="field-error">{countsError}</p>}
            <FormatSelector value={settings.format} onChange={(format) => update({ format })} issues={issuesFor('format')} />
            {settings.format === 'jsonl' && (
              <div className="group jsonl-settings">
                <label className="field">
                  <span>JSONL flavor</span>
                  <select
                    value={settings.jsonlFlavor}
                    aria-invalid={flavorIssues.length > 0 || undefined}
                    aria-describedby={flavorIssues.length ? 'flavor-issues' : undefined}
                    onChange={(e) => update({ jsonlFlavor: e.target.value as JsonlFlavor })}
                  >
                    {FLAVORS.map((f) => (
                      <option key={f.value} value={f.value}>
                        {f.label}
                      </option>
                    ))}
                  </select>
                </label>
                <FieldIssues id="flavor-issues" issues={flavorIssues} />
                <label className="field">
                  <span>System prompt</span>
                  <textarea
                    rows={2}
                    value={settings.systemPrompt}
                    placeholder="Optional: a system message put first in each conversation"
                    aria-invalid={promptIssues.length > 0 || undefined}
                    aria-describedby={promptIssues.length ? 'prompt-issues' : undefined}
                    onChange={(e) => update({ systemPrompt: e.target.value })}
                  />
                </label>
                <FieldIssues id="prompt-issues" issues={promptIssues} />
              </div>
            )}
            <OptionsPanel value={settings.includes} onChange={(includes) => update({ includes })} issues={issuesFor('options')} />
          </div>
          <PreviewPane preview={preview} loading={previewLoading} error={previewError} />
        </div>
        <footer className="dialog-foot">
          <div className="result-slot" aria-live="polite">
            <ExportResult ref={downloadLink} phase={phase} />
          </div>
          <div className="actions">
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="primary" aria-disabled={blocked || undefined} onClick={submit}>
              {phase.kind === 'submitting' ? 'Exporting…' : label}
            </button>
          </div>
        </footer>
      </div>
    </div>
  )
}
