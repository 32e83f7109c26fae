// Writes the lockfile entries of lora-export's platform packages that are
// not installed here (bindings-node/npm/<platform>/package.json), as npm
// writes them once the packages are published: optional, with their os, cpu
// and libc, so `npm ci` skips them on any other platform. Until they are
// published, `npm install` drops them (the registry does not know them yet)
// and `npm ci` then refuses the lockfile; run this after `npm install`.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const npmDir = path.resolve(appDir, '../../bindings-node/npm')
const lockPath = path.join(appDir, 'package-lock.json')
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'))

const added = []
for (const dir of fs.readdirSync(npmDir).sort()) {
  const manifest = JSON.parse(fs.readFileSync(path.join(npmDir, dir, 'package.json'), 'utf8'))
  const key = `node_modules/${manifest.name}`
  if (lock.packages[key]) continue
  const { version, cpu, os, libc, license, engines } = manifest
  lock.packages[key] = { version, cpu, license, optional: true, os, ...(libc ? { libc } : {}), engines }
  added.push(manifest.name)
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`)
console.log(added.length ? `added to package-lock.json: ${added.join(', ')}` : 'package-lock.json already lists every platform package')
