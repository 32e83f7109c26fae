import { routes } from '@/lib/export'

// An export's status and progress.
export const { GET } = routes.status
