import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** Creates an export: 201 with the file's details, or 202 when queued (≥ 500 conversations). */
export async function POST(request: Request) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const body: unknown = await request.json().catch(() => null)
    const result = await (await exportClient()).createExport(session, body)
    return Response.json(result, { status: result.status })
  })
}
