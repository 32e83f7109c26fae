// GET /api/cron/maintenance: the maintenance schedules for deployments with
// no long-running worker — expiry marking, file cleanup and log retention,
// each run when its scheduled period is due and nobody has run it yet
// (LORA_EXPORT_SCHEDULE_* set the schedules). vercel.json calls it daily, as
// Vercel Hobby allows; on Pro, `0 * * * *` calls it hourly.
//
// Only the scheduler may call it: `Authorization: Bearer $CRON_SECRET`, the
// header Vercel Cron sends when CRON_SECRET is set. Without CRON_SECRET the
// route refuses every call.
import { timingSafeEqual } from 'node:crypto'
import { connection } from 'next/server'
import { exportClient } from '../../../../lib/export'

function authorized(header: string | null): boolean {
  const secret = process.env.CRON_SECRET
  if (!secret || header === null) return false
  const expected = Buffer.from(`Bearer ${secret}`)
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export async function GET(request: Request): Promise<Response> {
  // At request time, never prerendered by `next build`: CRON_SECRET is read per call.
  await connection()
  if (!process.env.CRON_SECRET) {
    return Response.json({ error: 'CRON_NOT_CONFIGURED', message: 'set CRON_SECRET to enable this route' }, { status: 503 })
  }
  if (!authorized(request.headers.get('authorization'))) {
    return Response.json({ error: 'UNAUTHORIZED', message: 'Authorization: Bearer $CRON_SECRET is required' }, { status: 401 })
  }
  try {
    const client = await exportClient()
    const runs = await client.runDueMaintenance('vercel-cron')
    return Response.json({ runs }, { headers: { 'Cache-Control': 'no-store' } })
  } catch (e) {
    console.error('maintenance failed:', e)
    return Response.json({ error: 'INTERNAL_ERROR', message: 'maintenance failed' }, { status: 500 })
  }
}
