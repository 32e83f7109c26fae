import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** Deletes an export: cancels its job if running, removes its file, keeps its audit trail. */
export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const { id } = await params
    return Response.json(await (await exportClient()).deleteExport(session, id))
  })
}
