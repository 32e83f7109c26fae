import { routes } from '@/lib/export'

export const runtime = 'nodejs'

// The export modal's preview: the first conversations as the export writes them.
export const { POST } = routes.preview
