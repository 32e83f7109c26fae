// Shared by the node:test files: the golden paths, synthetic conversations,
// and fresh Supabase-shaped databases on the test cluster
// (LORA_EXPORT_TEST_DATABASE_URL, a superuser URL that scripts/test.sh
// exports), each migrated by the module as the app's login.
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const goldenDir = path.join(root, 'tests/golden')

const BASE = Date.UTC(2025, 0, 1)

/** Synthetic conversation `i`: distinct, increasing `createdAt` (the database's export order). */
export function conversation(i, { tier = 'template', status = 'approved' } = {}) {
  const at = new Date(BASE + i * 1000).toISOString().replace('.000Z', 'Z')
  return {
    conversation_id: `conv-${String(i).padStart(7, '0')}`,
    title: `Conversation ${i}`,
    status,
    qualityScore: 5 + (i % 50) / 10,
    tier,
    persona: 'Busy professional',
    emotion: i % 2 ? 'curious' : 'frustrated',
    topic: 'billing',
    createdAt: at,
    updatedAt: at,
    turns: [
      { role: 'user', content: `Question ${i}: how do I export "my" data, again?` },
      { role: 'assistant', content: `Answer ${i}: open the export modal,\npick a format — then download.` },
    ],
  }
}

/** `count` synthetic conversations, `tierOf(i)` choosing each tier. */
export function conversations(count, tierOf = () => 'template') {
  return Array.from({ length: count }, (_, i) => conversation(i, { tier: tierOf(i) }))
}

/** Canonical JSONL of `list`. */
export function jsonl(list) {
  return Buffer.from(list.map((c) => JSON.stringify(c)).join('\n') + '\n')
}

export function adminUrl() {
  const url = process.env.LORA_EXPORT_TEST_DATABASE_URL
  if (!url) throw new Error('LORA_EXPORT_TEST_DATABASE_URL is not set: run scripts/test.sh (it starts PostgreSQL)')
  return url
}

/** Runs SQL on `url` with psql; returns its unaligned output. */
export function sql(url, statement) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', statement], { encoding: 'utf8' }).trim()
}

/** A new, bare database (no Supabase roles' objects, no `auth`): the superuser's URL on it. */
export function emptyDatabase() {
  const name = `node_${randomUUID().replaceAll('-', '')}`
  sql(adminUrl(), `CREATE DATABASE ${name}`)
  return adminUrl().replace(/\/[^/]*$/, `/${name}`)
}

/**
 * A new database on the test cluster shaped as Supabase ships one
 * (tests/support/supabase.sql, applied by the superuser); returns the URL of
 * its app's login `app_owner`, not a superuser, as whom the tests connect and
 * migrate with the client.
 */
export function freshDatabase() {
  const url = emptyDatabase()
  // Its roles are cluster-wide: another test process may change them at the
  // same moment ("tuple concurrently updated"); the script runs in one
  // transaction, so it is run again.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', SHAPE], { stdio: 'pipe' })
      break
    } catch (error) {
      if (attempt === 5) throw error
    }
  }
  const app = url.replace('://postgres@', '://app_owner@')
  if (app === url) throw new Error('the test cluster\'s URL names the user postgres')
  return app
}

const SHAPE = path.join(root, 'tests/support/supabase.sql')

/** A user in auth.users (the schema's stand-in for Supabase's); returns its id. */
export function createUser(url) {
  const id = randomUUID()
  sql(url, `INSERT INTO auth.users (id, email) VALUES ('${id}', '${id}@example.com')`)
  return id
}

/** All bytes of a web ReadableStream. */
export async function readAll(stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

/** name → bytes of each entry of a zip, read by Python's zipfile (a reference reader). */
export function unzip(bytes) {
  const script = 'import json,sys,zipfile,io\nz=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n' +
    'print(json.dumps([[i.filename, z.read(i).hex()] for i in z.infolist()]))'
  const entries = JSON.parse(execFileSync('python3', ['-c', script], { input: bytes, maxBuffer: 1 << 28 }))
  return new Map(entries.map(([name, hex]) => [name, Buffer.from(hex, 'hex')]))
}

/** A dataset file's bytes, with the export time of a README.md card taken out (each export has its own). */
export function undated(name, bytes) {
  return name === 'README.md' ? Buffer.from(bytes.toString('utf8').replace(/^(Exported by lora-export on )\S+:/m, '$1…:')) : bytes
}
