// The example's own API call: a page of its conversations table. Everything
// about exports (the types, the calls, ApiError) comes from lora-export-react.
import { ApiError, type ConversationRow, type FilterConfig, type Issue, type Page } from 'lora-export-react'

export type { ConversationRow, ConversationStatus, FilterConfig, Page, TierType } from 'lora-export-react'
export { ApiError }

/** POST /api/conversations: a page of the conversations the user may read. */
export async function listConversations(body: { filters?: FilterConfig; page?: number; limit?: number }, signal?: AbortSignal): Promise<Page<ConversationRow>> {
  const response = await fetch('/api/conversations', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  })
  const json = (await response.json().catch(() => ({}))) as { error?: string; message?: string; issues?: Issue[] }
  if (!response.ok) {
    throw new ApiError(response.status, json.error ?? `HTTP_${response.status}`, json.message ?? response.statusText, json.issues ?? [])
  }
  return json as unknown as Page<ConversationRow>
}
