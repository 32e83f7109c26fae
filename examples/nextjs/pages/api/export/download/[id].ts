// Streams a completed export's file (GET, counted) or answers its headers
// (HEAD, not counted). A Pages Router API route, not an App Router one:
// Next.js (15, and 16 still) drops Content-Length from every App Router
// response; this route writes the Node response itself, so the length
// reaches the client.
import { routes } from '@/lib/export'

export const config = { api: { responseLimit: false, bodyParser: false } }

export default routes.pagesDownload
