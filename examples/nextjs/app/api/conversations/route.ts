import { routes } from '@/lib/export'

export const runtime = 'nodejs'

// A page of the conversations table, filtered like an export of scope filtered.
export const { POST } = routes.conversations
