import type { HistoryQuery } from 'lora-export'
import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** The user's exports, newest first: ?format=&status=&from=&to=&page=&limit= */
export async function GET(request: Request) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    const params = new URL(request.url).searchParams
    const query: Record<string, unknown> = Object.fromEntries(params)
    for (const key of ['page', 'limit']) if (params.has(key)) query[key] = Number(params.get(key))
    return Response.json(await (await exportClient()).listHistory(session, query as HistoryQuery))
  })
}
