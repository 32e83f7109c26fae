import { routes } from '@/lib/export'

// A page of the conversations table, filtered like an export of scope filtered.
export const { POST } = routes.conversations
