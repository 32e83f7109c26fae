import { routes } from '@/lib/export'

// Every user's exports (`?user=` one user's), paged, sorted and filtered as
// the history is: an administrator only, 403 for anyone else.
export const { GET } = routes.adminHistory
