import { answer, exportClient, userOf } from '@/lib/export'

export const runtime = 'nodejs'

/** Streams a completed export's file. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return answer(async () => {
    const { id } = await params
    const file = await (await exportClient()).openDownload(userOf(request), id)
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
