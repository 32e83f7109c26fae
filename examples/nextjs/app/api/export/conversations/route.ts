import { routes } from '@/lib/export'

// Creates an export: 201 with its download_url, or 202 (≥ 500 conversations) with its status_url.
export const { POST } = routes.create
