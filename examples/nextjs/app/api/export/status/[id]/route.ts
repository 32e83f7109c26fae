import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** An export's status, with progress while it runs. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const { id } = await params
    return Response.json(await (await exportClient()).getStatus(session, id))
  })
}
