import { answer, exportClient, sessionOf } from '@/lib/export'

export const runtime = 'nodejs'

/** The user's exports, newest first: ?format=&status=&from=&to=&page=&limit= */
export async function GET(request: Request) {
  return answer(async () => {
    const session = await sessionOf(request) // first: who is asking (401 otherwise)
    // The parameters as the URL has them: the library parses and checks
    // them (400 with each bad one's path; a date input's YYYY-MM-DD works).
    const query = Object.fromEntries(new URL(request.url).searchParams)
    return Response.json(await (await exportClient()).listHistory(session, query))
  })
}
