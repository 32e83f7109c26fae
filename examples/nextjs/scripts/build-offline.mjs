// `next build` with no database, as a CI build or a Vercel build runs it:
// DATABASE_URL points at a port this script listens on, and the build must
// succeed without one connection attempt there and without a line on
// stderr (Next.js 16 prerenders GET route handlers under cacheComponents;
// lora-export/next's routes must tell it they are dynamic before they
// connect). scripts/test-browser.sh runs it in place of a plain `next build`.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const nextBin = createRequire(path.join(appDir, 'package.json')).resolve('next/dist/bin/next')

let attempts = 0
const database = net.createServer((socket) => {
  attempts += 1
  socket.destroy()
})
await new Promise((resolve) => database.listen(0, '127.0.0.1', resolve))
const { port } = database.address()

const env = { ...process.env, DATABASE_URL: `postgres://build@127.0.0.1:${port}/app`, NEXT_TELEMETRY_DISABLED: '1' }
const build = spawn(process.execPath, [nextBin, 'build'], { cwd: appDir, env, stdio: ['ignore', 'inherit', 'pipe'] })
let stderr = ''
build.stderr.setEncoding('utf8').on('data', (chunk) => {
  stderr += chunk
  process.stderr.write(chunk)
})
const code = await new Promise((resolve) => build.on('close', resolve))
database.close()

assert.equal(code, 0, 'next build failed')
assert.equal(attempts, 0, `next build connected to DATABASE_URL ${attempts} time(s): a route or page reached the database at build time`)
assert.equal(stderr, '', 'next build wrote to stderr')
console.log(`next build: no connection to DATABASE_URL (127.0.0.1:${port}), nothing on stderr`)
