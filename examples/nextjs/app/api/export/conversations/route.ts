import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/**
 * Creates an export: 201 with the file's details and its `download_url`, or
 * 202 when queued (≥ 500 conversations) with the `status_url` to poll.
 */
export async function POST(request: Request) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const body: unknown = await request.json().catch(() => null)
    const result = await (await exportClient()).createExport(session, body)
    const links =
      result.outcome === 'completed'
        ? { download_url: `/api/export/download/${result.export_id}` }
        : { status_url: `/api/export/status/${result.export_id}` }
    return Response.json({ ...result, ...links }, { status: result.status })
  })
}
