import { routes } from '@/lib/export'

// A new export from a failed or expired one's stored request.
export const { POST } = routes.retry
