// exportDataset: a dataset directory from objects or a JSONL Buffer — splits
// by a seeded hash of the id (stable when data grows), shards, gzip, the
// card — and strict options.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { exportDataset, isLoraExportError } from 'lora-export'
import { conversations, jsonl } from './support.mjs'

const temp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-ds-')), 'out')

/** conversation_id → split, read back from the files; no id in two splits. */
function membership(dir) {
  const found = new Map()
  for (const name of fs.readdirSync(dir).filter((n) => n !== 'README.md')) {
    const raw = fs.readFileSync(path.join(dir, name))
    const text = (name.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8')
    for (const line of text.split('\n').filter(Boolean)) {
      const id = JSON.parse(line).metadata.conversation_id
      assert.ok(!found.has(id), `${id} twice`)
      found.set(id, name.split('-')[0])
    }
  }
  return found
}

test('exportDataset splits, shards and compresses; splits stay put when data grows', async () => {
  const data = conversations(120)
  const first = temp()
  const summary = await exportDataset(data.slice(0, 70), first, { scope: 'all', format: 'jsonl' }, {
    split: 'train=0.8,validation=0.2', seed: 9, shardRecords: 20, compression: 'gzip',
  })
  assert.deepEqual(summary.splits.map((s) => s.name), ['train', 'validation'])
  assert.equal(summary.splits.reduce((n, s) => n + s.conversations, 0), 70)
  const train = summary.splits[0]
  assert.equal(train.files.length, Math.ceil(train.conversations / 20))
  assert.match(train.files[0].name, /^train-00000-of-0000\d\.jsonl\.gz$/)
  assert.match(fs.readFileSync(path.join(first, 'README.md'), 'utf8'), /path: "validation-\*\.jsonl\.gz"/)

  const grown = temp()
  await exportDataset(Buffer.from(jsonl([...data].reverse())), grown, { scope: 'all', format: 'jsonl' }, {
    split: 'train=0.8,validation=0.2', seed: 9,
  })
  const [was, is] = [membership(first), membership(grown)]
  assert.equal(is.size, 120)
  for (const [id, split] of was) assert.equal(is.get(id), split, `${id} moved`)
})

test('exportDataset refuses unknown options, bad splits and a used directory', async () => {
  const data = conversations(3)
  const refused = async (options, dir = temp()) => {
    const error = await exportDataset(data, dir, { scope: 'all', format: 'jsonl' }, options).catch((e) => e)
    assert.ok(isLoraExportError(error), String(error))
    return error
  }
  assert.equal((await refused({ shardRecord: 5 })).code, 'CONFIG_ERROR')
  assert.equal((await refused({ split: 'train=0.9,test=0.2' })).issues[0].code, 'bad_sum')
  assert.equal((await refused({ compression: 'brotli' })).code, 'CONFIG_ERROR')
  const used = temp()
  fs.mkdirSync(used)
  fs.writeFileSync(path.join(used, 'train-00000-of-00001.jsonl'), 'old')
  assert.match((await refused({}, used)).message, /not empty/)
})
