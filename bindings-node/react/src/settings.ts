// The export modal's settings: the seeds' defaults, the request they make,
// and the last used ones kept in localStorage.
import type { Compression, ExportFormat, ExportRequest, ExportScope, FilterConfig, IncludeOptions, JsonlFlavor } from './api.js'

export interface ExportSettings {
  scope: ExportScope
  format: ExportFormat
  jsonlFlavor: JsonlFlavor
  systemPrompt: string
  includes: IncludeOptions
  compression: Compression
}

/** The seeds' defaults: metadata, quality scores, timestamps and full content on; approval history and parent references off. */
export const DEFAULT_INCLUDES: IncludeOptions = {
  includeMetadata: true,
  includeQualityScores: true,
  includeTimestamps: true,
  includeApprovalHistory: false,
  includeParentReferences: false,
  includeFullContent: true,
}

export const DEFAULT_SETTINGS: ExportSettings = {
  scope: 'filtered',
  format: 'jsonl',
  jsonlFlavor: 'openai',
  systemPrompt: '',
  includes: DEFAULT_INCLUDES,
  compression: 'none',
}

export const STORAGE_KEY = 'lora-export:last-export-settings'

const SCOPES: ExportScope[] = ['selected', 'filtered', 'all', 'all_data']
const FORMATS: ExportFormat[] = ['jsonl', 'json', 'csv', 'markdown', 'parquet']
const FLAVORS: JsonlFlavor[] = ['openai', 'anthropic', 'sharegpt']
const COMPRESSIONS: Compression[] = ['none', 'gzip', 'zstd']

/** The last used settings, each field checked (anything unknown falls back to the default). */
export function loadSettings(storageKey: string | null = STORAGE_KEY): ExportSettings {
  if (storageKey === null || typeof window === 'undefined') return DEFAULT_SETTINGS
  try {
    const raw = JSON.parse(window.localStorage.getItem(storageKey) ?? 'null') as Partial<ExportSettings> | null
    if (!raw || typeof raw !== 'object') return DEFAULT_SETTINGS
    const includes = { ...DEFAULT_INCLUDES }
    for (const key of Object.keys(DEFAULT_INCLUDES) as (keyof IncludeOptions)[]) {
      const value = raw.includes?.[key]
      if (typeof value === 'boolean') includes[key] = value
    }
    return {
      scope: SCOPES.includes(raw.scope as ExportScope) ? (raw.scope as ExportScope) : DEFAULT_SETTINGS.scope,
      format: FORMATS.includes(raw.format as ExportFormat) ? (raw.format as ExportFormat) : DEFAULT_SETTINGS.format,
      jsonlFlavor: FLAVORS.includes(raw.jsonlFlavor as JsonlFlavor) ? (raw.jsonlFlavor as JsonlFlavor) : DEFAULT_SETTINGS.jsonlFlavor,
      systemPrompt: typeof raw.systemPrompt === 'string' ? raw.systemPrompt : '',
      includes,
      compression: COMPRESSIONS.includes(raw.compression as Compression) ? (raw.compression as Compression) : DEFAULT_SETTINGS.compression,
    }
  } catch {
    return DEFAULT_SETTINGS
  }
}

export function saveSettings(storageKey: string | null, settings: ExportSettings): void {
  if (storageKey === null) return
  try {
    window.localStorage.setItem(storageKey, JSON.stringify(settings))
  } catch {
    // storage full or disabled: the settings just are not remembered
  }
}

/**
 * The export request for `settings`: the ids only for scope `selected`, the
 * filters only for `filtered` (the API rejects either beside another scope),
 * the flavor and system prompt only for JSONL.
 */
export function buildRequest(settings: ExportSettings, selectedIds: string[], filters: FilterConfig): ExportRequest {
  const config: ExportRequest['config'] = { scope: settings.scope, format: settings.format, ...settings.includes }
  if (settings.format === 'jsonl') {
    config.jsonlFlavor = settings.jsonlFlavor
    if (settings.systemPrompt.trim() !== '') config.systemPrompt = settings.systemPrompt
  }
  const request: ExportRequest = { config }
  if (settings.scope === 'selected') request.conversationIds = selectedIds
  if (settings.scope === 'filtered') request.filters = filters
  if (settings.compression !== 'none') request.compression = settings.compression
  return request
}
