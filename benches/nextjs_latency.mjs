// The seeds' latency targets, measured (a benchmark, not a test: nothing is
// asserted) against the example app under `next start` and a fresh
// PostgreSQL database: status and history (100 exports per user) p50/p95
// with 10 users requesting at once, download start (time to the first
// byte), and in Chromium the modal ready (click on Export to counts and
// preview shown) and the preview after a format change. Prints a Markdown
// table with the load average at start and end.
//
//   make test-browser   # builds examples/nextjs (next build) once
//   source /work/srv/<you>-pg.env && node benches/nextjs_latency.mjs
//
// Needs LORA_EXPORT_TEST_DATABASE_URL (a superuser URL) and Chromium, as
// scripts/test-browser.sh does.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { conversation, createUser, freshDatabase, jsonl } from '../bindings-node/test/support.mjs'
import { SECRET, claims, hs256 } from '../bindings-node/test/tokens.mjs'
import { launchChromium, sessionCookies, startNext } from '../examples/nextjs/test/browser-support.mjs'

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../examples/nextjs')
const { ExportClient } = createRequire(path.join(appDir, 'package.json'))('lora-export')

const USERS = 10
const EXPORTS_PER_USER = 100
const ROUNDS = 30 // requests per user and route
const BROWSER_ROUNDS = 10
const SUPABASE_URL = 'http://127.0.0.1:9'

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
}
const ms = (v) => `${v.toFixed(0)} ms`
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ')

const loadAtStart = load()
const url = freshDatabase()
const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-bench-'))
const setup = await ExportClient.connect(url, { storageRoot, rateLimitPerHour: 100000 })
await setup.migrate({ supabaseStandIns: true })
const data = Array.from({ length: 630 }, (_, i) => conversation(i, { tier: i % 15 === 0 ? 'edge_case' : 'template', status: i < 600 ? 'approved' : 'pending_review' }))
await setup.importConversations(jsonl(data))
const users = Array.from({ length: USERS }, () => createUser(url))
const exportsOf = new Map()
for (const user of users) {
  const ids = []
  for (let i = 0; i < EXPORTS_PER_USER; i++) {
    const request = { config: { scope: 'selected', format: ['jsonl', 'csv', 'json', 'markdown'][i % 4] }, conversationIds: [data[i].conversation_id, data[i + 1].conversation_id] }
    ids.push((await setup.createExport(user, request)).export_id)
  }
  exportsOf.set(user, ids)
}
setup.close()

const server = await startNext({
  DATABASE_URL: url,
  SUPABASE_URL,
  SUPABASE_JWT_SECRET: SECRET,
  LORA_EXPORT_STORAGE_ROOT: storageRoot,
  LORA_EXPORT_RATE_LIMIT: '100000',
})
const { base } = server
const tokens = new Map(users.map((u) => [u, hs256(claims(u, SUPABASE_URL))]))

/** `ROUNDS` sequential requests by each of the 10 users at once; each latency to the whole body. */
async function concurrently(pathOf, { firstByte = false } = {}) {
  const times = []
  await Promise.all(
    users.map(async (user) => {
      const headers = { authorization: `Bearer ${tokens.get(user)}` }
      for (let i = 0; i < ROUNDS; i++) {
        const started = performance.now()
        const response = await fetch(base + pathOf(user, i), { headers })
        if (!response.ok) throw new Error(`${pathOf(user, i)}: ${response.status} ${await response.text()}`)
        if (firstByte) {
          const reader = response.body.getReader()
          await reader.read()
          times.push(performance.now() - started)
          await reader.cancel()
        } else {
          await response.arrayBuffer()
          times.push(performance.now() - started)
        }
      }
    }),
  )
  return times
}

// Warm the routes (Next.js compiles nothing at run time, but the first
// request of each route loads its chunk and the pool connects).
await concurrently((u) => `/api/export/history?limit=1`)
const status = await concurrently((u, i) => `/api/export/status/${exportsOf.get(u)[i]}`)
const history = await concurrently(() => `/api/export/history?limit=100`)
const download = await concurrently((u, i) => `/api/export/download/${exportsOf.get(u)[i]}`, { firstByte: true })

// The browser: one user, the modal opened and the format changed.
const browser = await launchChromium()
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } })
await context.addCookies(sessionCookies(SUPABASE_URL, tokens.get(users[0]), base))
const page = await context.newPage()
const modal = []
const preview = []
const formats = ['CSV', 'JSON', 'Markdown', 'JSONL Recommended']
const formatOf = { CSV: 'csv', JSON: 'json', Markdown: 'markdown', 'JSONL Recommended': 'jsonl' }
await page.goto(base + '/')
await page.locator('tbody tr input[type="checkbox"]').first().waitFor()
for (let round = 0; round < BROWSER_ROUNDS; round++) {
  const opened = performance.now()
  await page.getByRole('button', { name: 'Export', exact: true }).click()
  const dialog = page.getByRole('dialog', { name: 'Export Conversations' })
  await page.waitForFunction(() => !document.querySelector('#scope-count-all')?.textContent?.includes('…') && document.querySelector('.lx-preview:not([aria-busy="true"]) .lx-preview-body[data-format]'))
  if (round > 0) modal.push(performance.now() - opened) // the first open loads the chunk
  const label = formats[round % formats.length]
  const changed = performance.now()
  await dialog.getByRole('radio', { name: label, exact: true }).check()
  await page.waitForSelector(`.lx-preview:not([aria-busy="true"]) .lx-preview-body[data-format="${formatOf[label]}"]`)
  preview.push(performance.now() - changed)
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
}
await browser.close()
await server.stop()
const loadAtEnd = load()

const row = (what, load, values, target) => `| ${what} | ${load} | ${values.length} | ${ms(quantile(values, 0.5))} | ${ms(quantile(values, 0.95))} | ${target} |`
console.log(`load average (1/5/15 min) at start: ${loadAtStart}; at end: ${loadAtEnd}; ${os.cpus().length} cores\n`)
console.log('| measure | load | samples | p50 | p95 | seeds\' target |')
console.log('|---|---|---:|---:|---:|---|')
console.log(row('status (`GET /api/export/status/[id]`)', `${USERS} users at once`, status, '< 200 ms'))
console.log(row(`history, ${EXPORTS_PER_USER} exports (\`GET /api/export/history?limit=100\`)`, `${USERS} users at once`, history, '< 500 ms'))
console.log(row('download start (first byte of `GET /api/export/download/[id]`)', `${USERS} users at once`, download, '< 500 ms'))
console.log(row('modal ready (click on Export → counts and preview shown)', '1 browser', modal, '< 500 ms'))
console.log(row('preview after a format change (click → new preview shown)', '1 browser', preview, '< 200 ms'))
