// Helpers of the browser test: `next start` on a free port, Chromium through
// playwright-core, the @supabase/ssr cookie as browser cookies, and what
// has the keyboard focus.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { ssrCookie } from '../../../bindings-node/test/tokens.mjs'

export const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = path.resolve(appDir, '../..')
const nextBin = createRequire(path.join(appDir, 'package.json')).resolve('next/dist/bin/next')
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** `next start` of the built app with `env`; resolves `{ base, log(), stop() }` once it answers. */
export async function startNext(env) {
  const port = await freePort()
  const server = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: appDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  server.stdout.on('data', (d) => (log += d))
  server.stderr.on('data', (d) => (log += d))
  const base = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/signin`)).ok) break
    } catch {}
    if (i >= 600 || server.exitCode !== null) {
      await stop()
      throw new Error(`next start did not come up:\n${log}`)
    }
    await sleep(100)
  }
  return { base, log: () => log, stop }
}

/** Headless Chromium (the system's, or CHROMIUM_PATH). */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  })
}

/** The browser cookies @supabase/ssr leaves for `accessToken` (chunked when long), for `base`. */
export function sessionCookies(supabaseUrl, accessToken, base) {
  return ssrCookie(supabaseUrl, accessToken)
    .split('; ')
    .map((pair) => {
      const at = pair.indexOf('=')
      return { name: pair.slice(0, at), value: pair.slice(at + 1), url: base }
    })
}

/** What has the focus: tag, type, name, checked, its label or text, aria-expanded, and whether it is inside the dialog. */
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return { tag: 'body', text: '', inDialog: false }
    const label = el.labels?.[0]?.textContent ?? el.getAttribute('aria-label') ?? el.textContent ?? ''
    return {
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type'),
      name: el.getAttribute('name'),
      value: 'value' in el ? el.value : null,
      checked: 'checked' in el ? el.checked : null,
      text: label.replace(/\s+/g, ' ').trim(),
      expanded: el.getAttribute('aria-expanded'),
      inDialog: Boolean(el.closest('[role="dialog"]')),
    }
  })
}

/**
 * Presses Tab (Shift+Tab with `back`) until `matches(focused)` holds; each
 * step's focus is given to `each` (to check it stays in the dialog).
 * Returns the focused element's description; fails after `max` presses.
 */
export async function tabTo(page, matches, { back = false, max = 60, each } = {}) {
  const seen = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab')
    const now = await focused(page)
    seen.push(now.text || now.tag)
    each?.(now)
    if (matches(now)) return now
  }
  throw new Error(`no focus matched after ${max} presses of Tab; focus went through: ${seen.join(' | ')}`)
}
