// The README's Node snippet really runs (and prints what the Rust export of
// the same sample says).
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { root } from './support.mjs'

test('the README snippet runs', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const snippet = readme.split('the pure functions need no database:\n\n```js\n')[1]?.split('```')[0]
  assert.ok(snippet, 'the README has the snippet')
  const file = path.join(root, 'bindings-node', 'test', '.readme-snippet.mjs')
  fs.writeFileSync(file, snippet)
  try {
    const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' })
    assert.match(out, /^32 conversations, \d+ bytes, 4 skipped\n$/)
  } finally {
    fs.rmSync(file)
  }
})
