import { routes } from '@/lib/export'

// The export modal's live counts, one per scope.
export const { POST } = routes.count
