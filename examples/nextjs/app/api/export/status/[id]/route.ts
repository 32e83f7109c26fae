import { routes } from '@/lib/export'

export const runtime = 'nodejs'

// An export's status and progress.
export const { GET } = routes.status
