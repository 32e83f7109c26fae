import { routes } from '@/lib/export'

// The user's exports, paged and filtered by the URL's query.
export const { GET } = routes.history
