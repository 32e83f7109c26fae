import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** Streams a completed export's file. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const { id } = await params
    const file = await (await exportClient()).openDownload(session, id)
    return new Response(file.stream, {
      headers: {
        'Content-Type': file.contentType,
        'Content-Disposition': file.contentDisposition,
        'Content-Length': String(file.size),
        'X-Content-SHA256': file.sha256,
      },
    })
  })
}
