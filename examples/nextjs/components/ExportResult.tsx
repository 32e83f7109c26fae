'use client'
// What became of the export the modal started: a download link (201, or a
// queued export that completed), a progress bar while a queued one runs
// (202, polled), its error, or the API's refusal (429: the wait).
import { forwardRef } from 'react'
import { formatBytes } from './api'

export type ExportPhase =
  | { kind: 'idle' }
  | { kind: 'submitting' }
  | { kind: 'running'; exportId: string; status: 'queued' | 'processing'; progress: number }
  | { kind: 'completed'; exportId: string; fileName: string; fileSize: number | null; count: number; downloadUrl: string; queued: boolean }
  | { kind: 'failed'; exportId: string; message: string }
  | { kind: 'error'; message: string; retryAfter?: number; signIn?: boolean }

const ExportResult = forwardRef<HTMLAnchorElement, { phase: ExportPhase }>(function ExportResult({ phase }, linkRef) {
  switch (phase.kind) {
    case 'idle':
      return null
    case 'submitting':
      return (
        <p className="result muted" role="status">
          Starting the export…
        </p>
      )
    case 'running':
      return (
        <div className="result" role="status">
          <label className="progress-label" id="export-progress-label">
            Export {phase.status === 'queued' ? 'queued' : 'in progress'}: {Math.round(phase.progress)}%
          </label>
          <div
            className="progress"
            role="progressbar"
            aria-labelledby="export-progress-label"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(phase.progress)}
          >
            <div className="progress-fill" style={{ width: `${Math.max(0, Math.min(100, phase.progress))}%` }} />
          </div>
        </div>
      )
    case 'completed':
      return (
        <div className="result success" role="status">
          {phase.queued && (
            // a finished queued export keeps its bar, at 100
            <div className="progress" role="progressbar" aria-label="Export progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={100}>
              <div className="progress-fill" style={{ width: '100%' }} />
            </div>
          )}
          <p>
            Export ready: {phase.count} conversations, {formatBytes(phase.fileSize)}.{' '}
            <a ref={linkRef} href={phase.downloadUrl} download={phase.fileName} className="download">
              Download {phase.fileName}
            </a>
          </p>
        </div>
      )
    case 'failed':
      return (
        <p className="result field-error" role="alert">
          The export failed: {phase.message}
        </p>
      )
    case 'error':
      return (
        <p className="result field-error" role="alert">
          {phase.message}
          {phase.retryAfter !== undefined && ` Try again in ${phase.retryAfter} s.`}
          {phase.signIn && (
            <>
              {' '}
              <a href="/signin">Sign in</a>
            </>
          )}
        </p>
      )
  }
})

export default ExportResult
