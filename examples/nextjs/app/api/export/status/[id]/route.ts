import { answer, exportClient, userOf } from '@/lib/export'

export const runtime = 'nodejs'

/** An export's status, with progress while it runs. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return answer(async () => {
    const { id } = await params
    return Response.json(await (await exportClient()).getStatus(userOf(request), id))
  })
}
