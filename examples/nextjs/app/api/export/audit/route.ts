import { routes } from '@/lib/export'

// The audit trail as CSV (?all=1: every user's, an administrator only).
export const { GET } = routes.audit
