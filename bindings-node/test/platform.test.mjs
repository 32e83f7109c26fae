// Loading where no native module is installed: a platform no package is
// published for, and this platform with its package missing. Each loads
// the package's real entry (index.js and the generated binding.js) in a
// child process; the error must name the platform and how to build the
// module from source, not napi's "npm has a bug related to optional
// dependencies".
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The error `require(entry)` throws in a child process run with `preload` first, as JSON. */
function loadError(entry, preload = '') {
  const script = `${preload}
try { require(${JSON.stringify(entry)}); console.log(JSON.stringify(null)) }
catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code, platform: e.platform, cause: String(e.cause?.message) })) }`
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

test('a platform no package is published for: the error names it and how to build from source', () => {
  const error = loadError(path.join(packageDir, 'index.js'), "Object.defineProperty(process, 'platform', { value: 'freebsd' })")
  assert.ok(error, 'the module loaded on freebsd')
  assert.equal(error.code, 'LORA_EXPORT_NO_NATIVE_MODULE')
  assert.equal(error.platform, `freebsd-${process.arch}`)
  assert.match(error.message, new RegExp(`no native module for freebsd-${process.arch}: no package is published for it \\(published: linux-x64-gnu, `))
  assert.match(error.message, /build it from source with a Rust toolchain: docs\/nextjs\.md, "Building from source"/)
  assert.doesNotMatch(error.message, /npm has a bug/)
  assert.match(error.cause, /Cannot find native binding/, 'napi\'s error stays the cause')
})

test('this platform without its package: the error names the package to reinstall', (t) => {
  // The entry files as an install that skipped the optional platform package
  // leaves them: no .node beside them, no lora-export-<platform> to require.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-no-binary-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const file of ['index.js', 'binding.js', 'package.json']) fs.copyFileSync(path.join(packageDir, file), path.join(dir, file))
  const error = loadError(path.join(dir, 'index.js'))
  assert.ok(error, 'the module loaded without its binary')
  assert.equal(error.code, 'LORA_EXPORT_NO_NATIVE_MODULE')
  assert.equal(error.platform, 'linux-x64-gnu')
  assert.match(error.message, /no native module for linux-x64-gnu: its package lora-export-linux-x64-gnu is not installed .*reinstall lora-export on this machine/)
  assert.match(error.message, /docs\/nextjs\.md, "Building from source"/)
})
