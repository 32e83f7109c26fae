import { routes } from '@/lib/export'

// Deletes an export: cancels its job, removes its file, keeps its audit trail.
export const { DELETE } = routes.remove
