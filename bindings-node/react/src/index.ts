'use client'
// lora-export-react: the export modal, the history table and the admin view
// as React 19 components over the routes of lora-export/next, and the
// headless hooks beneath them for apps with their own design system.
// Scoped class names (`lx-`) and CSS variables (`--lx-*`); the default
// look is `lora-export-react/styles.css`, imported by the app if it wants it.
export * from './api.js'
export { default as ExportModal, type ExportModalProps } from './ExportModal.js'
export { default as ExportHistory, AdminExports, type ExportHistoryProps } from './ExportHistory.js'
export {
  default as HistoryTable,
  HISTORY_COLUMNS,
  statusMessage,
  type HistoryColumn,
  type HistoryOrder,
  type HistoryTableProps,
} from './HistoryTable.js'
export { default as PreviewPane, type PreviewPaneProps } from './PreviewPane.js'
export { default as ExportResult, type ExportResultProps } from './ExportResult.js'
export { default as Pager } from './Pager.js'
export { default as StatusBadge } from './StatusBadge.js'
export { SignInLink, SignInNotice, type SignIn } from './SignIn.js'
export {
  POLL_MS,
  useExport,
  useExportHistory,
  usePreview,
  useScopeCounts,
  type ApiOptions,
  type ExportHistoryState,
  type ExportHookState,
  type ExportPhase,
  type Preview,
  type PreviewHookState,
  type ScopeCountsState,
} from './hooks.js'
export { buildRequest, DEFAULT_INCLUDES, DEFAULT_SETTINGS, loadSettings, saveSettings, STORAGE_KEY, type ExportSettings } from './settings.js'
