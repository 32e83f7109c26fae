'use client'
// The seeds' export modal ("Prompt 5"): scope, format, JSONL flavor and
// system prompt, the include options, a live preview, and the export itself
// (201: a download link; 202: a progress bar polled until done; 400: each
// issue beside its field; 429: the wait). A modal dialog: focus moves in on
// open, Tab stays inside, Esc closes (the app gives the opener focus back).
// The data comes from the hooks (useScopeCounts, usePreview, useExport);
// the app's selection, filters and sign-in come in through props.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'
import type { Compression, FilterConfig, JsonlFlavor } from './api.js'
import ExportResult from './ExportResult.js'
import FieldIssues from './FieldIssues.js'
import FormatSelector from './FormatSelector.js'
import { useExport, usePreview, useScopeCounts } from './hooks.js'
import OptionsPanel from './OptionsPanel.js'
import PreviewPane from './PreviewPane.js'
import ScopeSelector from './ScopeSelector.js'
import { buildRequest, loadSettings, saveSettings, STORAGE_KEY, type ExportSettings } from './settings.js'
import { SignInLink, type SignIn } from './SignIn.js'

const FLAVORS: { value: JsonlFlavor; label: string }[] = [
  { value: 'openai', label: 'OpenAI (messages)' },
  { value: 'anthropic', label: 'Anthropic (system + messages)' },
  { value: 'sharegpt', label: 'ShareGPT (conversations)' },
]

type Field = 'scope' | 'format' | 'flavor' | 'systemPrompt' | 'options' | 'compression' | 'general'

/** Which control an issue's path belongs beside. */
function fieldOf(path: string): Field {
  if (path === 'config.scope' || path.startsWith('conversationIds') || path.startsWith('filters')) return 'scope'
  if (path === 'config.format') return 'format'
  if (path === 'config.jsonlFlavor') return 'flavor'
  if (path === 'config.systemPrompt') return 'systemPrompt'
  if (path.startsWith('config.include')) return 'options'
  if (path === 'compression') return 'compression'
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

/** The props of `ExportModal`. */
export interface ExportModalProps {
  /** The ids of the conversations the app's table has selected (scope `selected`). */
  selectedIds: string[]
  /** The app's current filters (scope `filtered`), as the API's FilterConfig. */
  filters: FilterConfig
  /** Called on Cancel, ×, Esc and a click on the backdrop; the app unmounts the modal and focuses its opener. */
  onClose: () => void
  /** Where the routes of lora-export/next are mounted (default `/api/export`). */
  basePath?: string
  /** Where a signed-out user signs in: a URL, or a function the link calls. Without it the notice has no link. */
  signIn?: SignIn
  /** Renders a Markdown preview (e.g. with react-markdown); default: the Markdown source as text. */
  renderMarkdown?: (markdown: string) => ReactNode
  /** The localStorage key of the last used settings (default `lora-export:last-export-settings`); `null` keeps none. */
  storageKey?: string | null
  /** The dialog's title (default "Export Conversations"). */
  title?: string
}

/** The export dialog: scope, format, options, a live preview and the export. */
export default function ExportModal({
  selectedIds,
  filters,
  onClose,
  basePath,
  signIn,
  renderMarkdown,
  storageKey = STORAGE_KEY,
  title = 'Export Conversations',
}: ExportModalProps) {
  const [settings, setSettings] = useState<ExportSettings>(() => loadSettings(storageKey))
  const dialog = useRef<HTMLDivElement>(null)
  const downloadLink = useRef<HTMLAnchorElement>(null)

  const update = (patch: Partial<ExportSettings>) => setSettings((s) => ({ ...s, ...patch }))
  useEffect(() => saveSettings(storageKey, settings), [storageKey, settings])

  // Focus moves into the dialog: the chosen scope.
  useEffect(() => {
    const root = dialog.current
    if (!root) return
    const first = root.querySelector<HTMLElement>('input[name="export-scope"]:checked') ?? tabStops(root)[0]
    first?.focus()
  }, [])

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
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
  const scopeCounts = useScopeCounts({ conversationIds: selectedIds, filters }, { basePath })
  const { counts } = scopeCounts

  // The request the export would send (and the preview renders).
  const request = useMemo(() => buildRequest(settings, selectedIds, filters), [settings, selectedIds, filters])
  const noSelection = settings.scope === 'selected' && selectedIds.length === 0
  // Parquet is binary: the service has no text preview of it.
  const binary = settings.format === 'parquet'
  const preview = usePreview(noSelection || binary ? null : request, {
    basePath,
    typing: settings.systemPrompt,
    emptyMessage: binary
      ? 'Parquet is a binary table (one row per conversation): it has no text preview.'
      : 'Select conversations in the table to preview them.',
  })
  const { phase, issues, submit: start } = useExport({ basePath })
  const signedOut = scopeCounts.unauthorized || preview.unauthorized || (phase.kind === 'error' && phase.signIn === true)

  // A completed export's link takes focus, so the keyboard goes on from there.
  useEffect(() => {
    if (phase.kind === 'completed') downloadLink.current?.focus()
  }, [phase.kind])

  const count = counts?.[settings.scope]
  const busy = phase.kind === 'submitting' || phase.kind === 'running'
  const blocked = busy || count === undefined || count === 0 || noSelection

  const submit = () => {
    if (!blocked) void start(request)
  }

  const issuesFor = (field: Field) => issues.filter((i) => fieldOf(i.path) === field)
  const flavorIssues = issuesFor('flavor')
  const compressionIssues = issuesFor('compression')
  const promptIssues = issuesFor('systemPrompt')
  const label = count === undefined ? 'Export Conversations' : `Export ${count} ${count === 1 ? 'Conversation' : 'Conversations'}`

  return (
    <div className="lx-root lx-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={dialog} className="lx-dialog" role="dialog" aria-modal="true" aria-labelledby="lx-export-title" onKeyDown={onKeyDown}>
        <header className="lx-dialog-head">
          <h2 id="lx-export-title">{title}</h2>
          <button type="button" className="lx-button lx-icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {signedOut && (
          <p className="lx-notice" role="alert">
            You are not signed in. <SignInLink signIn={signIn} />
          </p>
        )}
        <div className="lx-dialog-body">
          <div className="lx-settings">
            <ScopeSelector
              value={settings.scope}
              onChange={(scope) => update({ scope })}
              counts={counts}
              loading={scopeCounts.loading}
              issues={issuesFor('scope')}
            />
            {scopeCounts.error && <p className="lx-field-error">{scopeCounts.error}</p>}
            <FormatSelector value={settings.format} onChange={(format) => update({ format })} issues={issuesFor('format')} />
            {settings.format === 'jsonl' && (
              <div className="lx-group lx-jsonl-settings">
                <label className="lx-field">
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
                <label className="lx-field">
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
            <div className="lx-group">
              <label className="lx-field">
                <span>Compression</span>
                <select
                  value={settings.compression}
                  aria-invalid={compressionIssues.length > 0 || undefined}
                  aria-describedby={compressionIssues.length ? 'compression-issues' : undefined}
                  onChange={(e) => update({ compression: e.target.value as Compression })}
                >
                  <option value="none">None</option>
                  <option value="gzip">gzip (.gz)</option>
                  <option value="zstd">zstd (.zst)</option>
                </select>
              </label>
              <FieldIssues id="compression-issues" issues={compressionIssues} />
            </div>
          </div>
          <PreviewPane preview={preview.preview} loading={preview.loading} error={preview.error} renderMarkdown={renderMarkdown} />
        </div>
        <footer className="lx-dialog-foot">
          <div className="lx-result-slot" aria-live="polite">
            <ExportResult ref={downloadLink} phase={phase} issues={issues.filter((i) => fieldOf(i.path) === 'general')} signIn={signIn} />
          </div>
          <div className="lx-actions">
            <button type="button" className="lx-button lx-secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="lx-button lx-primary" aria-disabled={blocked || undefined} onClick={submit}>
              {phase.kind === 'submitting' ? 'Exporting…' : label}
            </button>
          </div>
        </footer>
      </div>
    </div>
  )
}
