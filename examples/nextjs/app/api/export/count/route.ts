import { routes } from '@/lib/export'

export const runtime = 'nodejs'

// The export modal's live counts, one per scope.
export const { POST } = routes.count
