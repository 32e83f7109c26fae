import { routes } from '@/lib/export'

export const runtime = 'nodejs'

// Deletes an export: cancels its job, removes its file, keeps its audit trail.
export const { DELETE } = routes.remove
