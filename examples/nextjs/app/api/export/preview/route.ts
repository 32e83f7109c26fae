import { routes } from '@/lib/export'

// The export modal's preview: the first conversations as the export writes them.
export const { POST } = routes.preview
