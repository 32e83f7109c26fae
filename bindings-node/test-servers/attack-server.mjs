// The server test/attack.test.mjs attacks (outside test/: `node --test test/`
// runs every module there), run as a child process so that a crash
// (a SIGSEGV from a deep body) is a test failure rather than the end of the
// test run: lora-export/next's handlers behind a plain node:http server, as
// `next start` runs them (the web Request with its streamed body, the web
// Response written back). Reads ATTACK_DATABASE_URL, ATTACK_STORAGE_ROOT,
// ATTACK_SUPABASE_URL; prints `{ port }` as one JSON line once it listens.
import http from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, jsonl } from '../test/support.mjs'
import { SECRET } from '../test/tokens.mjs'

const env = (name) => process.env[name] ?? (() => { throw new Error(`${name} is not set`) })()
const client = await ExportClient.connect(env('ATTACK_DATABASE_URL'), {
  storageRoot: env('ATTACK_STORAGE_ROOT'), supabaseUrl: env('ATTACK_SUPABASE_URL'), jwtSecret: SECRET,
})
await client.migrate({ supabaseStandIns: true })
await client.importConversations(jsonl(conversations(46, (i) => (i % 3 ? 'template' : 'scenario'))))
const routes = exportRoutes({ client, onError: (e) => console.error(e) })

/** Path → handler, as the App Router's route files export them. */
const table = [
  ['POST', /^\/api\/export\/conversations$/, routes.create.POST],
  ['POST', /^\/api\/export\/count$/, routes.count.POST],
  ['POST', /^\/api\/export\/preview$/, routes.preview.POST],
  ['GET', /^\/api\/export\/history$/, routes.history.GET],
  ['POST', /^\/api\/conversations$/, routes.conversations.POST],
  ['DELETE', /^\/api\/export\/(?<id>[^/]+)$/, routes.remove.DELETE],
]

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`)
  const found = table.find(([method, pattern]) => method === req.method && pattern.test(url.pathname))
  if (!found) return res.writeHead(404).end()
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v))
    else if (value !== undefined) headers.set(name, value)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  const request = new Request(url, {
    method: req.method, headers, body: hasBody ? Readable.toWeb(req) : undefined, duplex: 'half',
  })
  const params = Promise.resolve(found[1].exec(url.pathname).groups ?? {})
  const response = await found[2](request, { params })
  res.statusCode = response.status
  response.headers.forEach((value, name) => res.setHeader(name, value))
  if (response.body) await pipeline(Readable.fromWeb(response.body), res).catch(() => res.destroy())
  else res.end()
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })))
