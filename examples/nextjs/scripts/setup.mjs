// `npm run setup`: everything the example needs in its database, with no
// hand-written SQL — the lora-export schema (migrate), the bundled sample
// conversations, and a test user. With SUPABASE_JWT_SECRET set it prints an
// access token for that user (HS256, one hour), for curl or the tests.
// On a Supabase database nothing is created in `auth`; a plain PostgreSQL
// one needs stand-ins for Supabase's roles and `auth` objects, created only
// with `--supabase-stand-ins`.
//
//   DATABASE_URL=postgres://… [SUPABASE_URL=…] [SUPABASE_JWT_SECRET=…] npm run setup [-- --supabase-stand-ins]
import crypto from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { ExportClient } from 'lora-export'

const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('setup: set DATABASE_URL to the database the app uses (postgres://…)')
  process.exit(2)
}
const email = process.env.LORA_EXPORT_SETUP_EMAIL ?? 'export-tester@example.com'
const supabaseStandIns = process.argv.includes('--supabase-stand-ins')
const sample = fileURLToPath(new URL('../../../data/sample.jsonl', import.meta.url))

const client = await ExportClient.connect(databaseUrl)
try {
  const applied = await client.migrate({ supabaseStandIns }).catch((e) => {
    if (e.code === 'CONFIG_ERROR' && !supabaseStandIns) {
      console.error('setup: a plain PostgreSQL database needs the stand-ins: npm run setup -- --supabase-stand-ins')
    }
    throw e
  })
  console.log(`migrations applied: ${applied.length ? applied.join(', ') : 'none (up to date)'}`)
  const imported = await client.importConversations(sample)
  console.log(`sample conversations imported: ${imported.imported} (${imported.skipped.length} malformed lines skipped)`)
  const userId = await client.createDevUser(email)
  console.log(`test user: ${email} ${userId}`)
  const secret = process.env.SUPABASE_JWT_SECRET
  if (secret) {
    const now = Math.floor(Date.now() / 1000)
    const issuer = process.env.SUPABASE_URL ? `${process.env.SUPABASE_URL.replace(/\/$/, '')}/auth/v1` : undefined
    const claims = { iss: issuer, sub: userId, aud: 'authenticated', role: 'authenticated', email, iat: now, exp: now + 3600 }
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`
    const token = `${signed}.${crypto.createHmac('sha256', secret).update(signed).digest('base64url')}`
    console.log(`access token (1 h): ${token}`)
  } else {
    console.log('sign in as that user with Supabase Auth to get an access token (or set SUPABASE_JWT_SECRET to print one)')
  }
} finally {
  client.close()
}
