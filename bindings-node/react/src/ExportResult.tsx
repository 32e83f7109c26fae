'use client'
// What became of the export the modal started: a download link (201, or a
// queued export that completed), a progress bar while a queued one runs
// (202, polled), its error, or the API's refusal (429: the wait).
import { forwardRef } from 'react'
import { formatBytes, type Issue } from './api.js'
import type { ExportPhase } from './hooks.js'
import { SignInLink, type SignIn } from './SignIn.js'

/** The props of `ExportResult`: the phase, the issues no field shows, the app's sign-in. */
export interface ExportResultProps {
  phase: ExportPhase
  issues?: Issue[]
  signIn?: SignIn
}

const ExportResult = forwardRef<HTMLAnchorElement, ExportResultProps>(function ExportResult({ phase, issues = [], signIn }, linkRef) {
  switch (phase.kind) {
    case 'idle':
      return null
    case 'submitting':
      return (
        <p className="lx-result lx-muted" role="status">
          Starting the export…
        </p>
      )
    case 'running':
      return (
        <div className="lx-result" role="status">
          <label className="lx-progress-label" id="export-progress-label">
            Export {phase.status === 'queued' ? 'queued' : 'in progress'}: {Math.round(phase.progress)}%
          </label>
          <div
            className="lx-progress"
            role="progressbar"
            aria-labelledby="export-progress-label"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(phase.progress)}
          >
            <div className="lx-progress-fill" style={{ width: `${Math.max(0, Math.min(100, phase.progress))}%` }} />
          </div>
        </div>
      )
    case 'completed':
      return (
        <div className="lx-result lx-success" role="status">
          {phase.queued && (
            // a finished queued export keeps its bar, at 100
            <div className="lx-progress" role="progressbar" aria-label="Export progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={100}>
              <div className="lx-progress-fill" style={{ width: '100%' }} />
            </div>
          )}
          <p>
            Export ready: {phase.count} conversations, {formatBytes(phase.fileSize)}.{' '}
            <a ref={linkRef} href={phase.downloadUrl} download={phase.fileName} className="lx-download">
              Download {phase.fileName}
            </a>
          </p>
        </div>
      )
    case 'failed':
      return (
        <p className="lx-result lx-field-error" role="alert">
          The export failed: {phase.message}
        </p>
      )
    case 'error':
      return (
        <p className="lx-result lx-field-error" role="alert">
          {phase.message}
          {issues.length > 0 && ' ' + issues.map((i) => `${i.path}: ${i.message}`).join('; ')}
          {phase.retryAfter !== undefined && ` Try again in ${phase.retryAfter} s.`}
          {phase.signIn && (
            <>
              {' '}
              <SignInLink signIn={signIn} />
            </>
          )}
        </p>
      )
  }
})

export default ExportResult
