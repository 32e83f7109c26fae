// exportDataset: a dataset directory from objects or a JSONL Buffer — splits
// by a seeded hash of the id (stable when data grows), shards, gzip, the
// card — and strict options; and a dataset export of the service, each file
// and the zip of them downloaded through ExportClient.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { ExportClient, exportDataset, isLoraExportError } from 'lora-export'
import { conversations, createUser, freshDatabase, jsonl, readAll, undated, unzip } from './support.mjs'

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
    split: 'train=0.8,validation=0.2', seed: 9, maxRecordsPerShard: 20, compression: 'gzip',
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
  assert.equal((await refused({ shardRecords: 5 })).code, 'CONFIG_ERROR')
  assert.match((await refused({ maxRecordsPerShard: -1 })).message, /maxRecordsPerShard/)
  assert.equal((await refused({ split: 'train=0.9,test=0.2' })).issues[0].code, 'bad_sum')
  assert.equal((await refused({ compression: 'brotli' })).code, 'CONFIG_ERROR')
  const used = temp()
  fs.mkdirSync(used)
  fs.writeFileSync(path.join(used, 'train-00000-of-00001.jsonl'), 'old')
  assert.match((await refused({}, used)).message, /not empty/)
})

test('exportDataset counts tokens (metadata and summary) and skips conversations over maxTokens', async () => {
  const data = conversations(40)
  const counted = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, { tokenizer: 'o200k_base' })
  const tokens = counted.export.tokens
  assert.deepEqual([tokens.tokenizer, tokens.conversations], ['o200k_base', 40])
  assert.ok(tokens.total > 0 && tokens.p50 <= tokens.p95 && tokens.p95 <= tokens.max)
  const dir = temp()
  const limited = await exportDataset(data, dir, { scope: 'all', format: 'jsonl' }, { tokenizer: 'o200k_base', maxTokens: tokens.p50 })
  const lines = fs.readFileSync(path.join(dir, 'train-00000-of-00001.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  assert.ok(lines.every((l) => l.metadata.token_count <= tokens.p50))
  assert.equal(lines.length + limited.export.tokens.over_max_tokens, 40)
  assert.equal(limited.export.skipped.filter((s) => s.reason.includes('max_tokens')).length, limited.export.tokens.over_max_tokens)
  const refused = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, { maxTokens: 10 }).catch((e) => e)
  assert.match(refused.message, /maxTokens needs a tokenizer/)
  const missing = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, { tokenizer: '/no/such/tokenizer.json' }).catch((e) => e)
  assert.equal(missing.code, 'CONFIG_ERROR')
})

test('exportDataset calls progress per batch, in order, ending at the total; a Buffer has no total', async () => {
  const data = conversations(2500)
  const calls = []
  const summary = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, {
    progress: (done, total) => { calls.push([done, total]) },
  })
  assert.deepEqual(calls, [[1024, 2500], [2048, 2500], [2500, 2500]])
  assert.equal(summary.splits[0].conversations, 2500)
  const fromBuffer = []
  await exportDataset(jsonl(data.slice(0, 1500)), temp(), { scope: 'all', format: 'jsonl' }, {
    progress: async (done, total) => { fromBuffer.push([done, total]) },
  })
  assert.deepEqual(fromBuffer, [[1024, null], [1500, null]])
})

test('a progress callback that throws (or rejects) stops the export with its error and leaves no file', async () => {
  const data = conversations(2500)
  for (const progress of [
    (done) => { if (done > 1024) throw new RangeError('stop at ' + done) },
    async (done) => { if (done > 1024) throw new RangeError('stop at ' + done) },
  ]) {
    const dir = temp()
    const error = await exportDataset(data, dir, { scope: 'all', format: 'jsonl' }, { progress }).catch((e) => e)
    assert.ok(error instanceof RangeError, String(error))
    assert.equal(error.message, 'stop at 2048')
    assert.deepEqual(fs.readdirSync(dir), [], 'no file left behind')
  }
  const thrownString = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, {
    progress: () => { throw 'not an Error' }, // eslint-disable-line no-throw-literal
  }).catch((e) => e)
  assert.equal(thrownString, 'not an Error')
  const notAFunction = await exportDataset(data, temp(), { scope: 'all', format: 'jsonl' }, { progress: 'yes' }).catch((e) => e)
  assert.equal(notAFunction.code, 'CONFIG_ERROR')
  assert.match(notAFunction.message, /progress/)
})

test('exportDataset with overwrite replaces a used directory whole', async () => {
  const dir = temp()
  await exportDataset(conversations(30), dir, { scope: 'all', format: 'jsonl' }, { split: 'train=0.5,test=0.5' })
  const refused = await exportDataset(conversations(10), dir, { scope: 'all', format: 'jsonl' }).catch((e) => e)
  assert.match(refused.message, /not empty.*overwrite/)
  const summary = await exportDataset(conversations(10), dir, { scope: 'all', format: 'jsonl' }, { overwrite: true })
  assert.deepEqual(fs.readdirSync(dir).sort(), ['README.md', 'train-00000-of-00001.jsonl'])
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['out'], 'no staging directory left')
  assert.equal(summary.splits[0].conversations, 10)
})

test('an object of splits is exported as given: files per split, leaks counted and warned, names checked', async () => {
  const train = conversations(30)
  const test = conversations(40).slice(30)
  const leak = { ...train[3], conversation_id: 'copy-of-3' }
  const dir = temp()
  const calls = []
  const summary = await exportDataset({ train, test: jsonl([...test, leak]) }, dir, { scope: 'all', format: 'jsonl' }, {
    maxRecordsPerShard: 20, progress: (done, total) => { calls.push([done, total]) },
  })
  assert.equal(summary.split_by, 'given')
  assert.deepEqual(summary.splits.map((s) => [s.name, s.conversations, s.leaks, s.files.length]), [['train', 30, 0, 2], ['test', 11, 1, 1]])
  assert.equal(summary.leaks, 1)
  assert.ok(summary.export.warnings.some((w) => /split `test`: 1 conversations repeat .*\(train: 1\)/.test(w)), summary.export.warnings.join('\n'))
  assert.deepEqual(calls, [[30, null], [41, null]], 'no total with a Buffer among the splits')
  const found = membership(dir)
  for (const c of train) assert.equal(found.get(c.conversation_id), 'train')
  for (const c of test) assert.equal(found.get(c.conversation_id), 'test')

  const deduped = await exportDataset({ train, test: [...test, leak] }, temp(), { scope: 'all', format: 'jsonl' }, { dedupe: true })
  assert.deepEqual(deduped.splits.map((s) => s.conversations), [30, 10])
  assert.deepEqual(deduped.splits[1].skipped.map((s) => [s.location.record, s.reason]), [[11, 'duplicate content: the same turns as record 4 of split `train`']])

  const refused = async (input, options = {}) => {
    const dir = temp()
    const error = await exportDataset(input, dir, { scope: 'all', format: 'jsonl' }, options).catch((e) => e)
    assert.ok(isLoraExportError(error), String(error))
    assert.ok(!fs.existsSync(dir) || fs.readdirSync(dir).length === 0)
    return error
  }
  for (const name of ['../escape', 'a/b', '..', '', 'x'.repeat(65), 'train-clean', '.hidden']) {
    const error = await refused({ train, [name]: test })
    assert.equal(error.code, 'VALIDATION_ERROR')
    assert.ok(error.message.includes(JSON.stringify(name)), error.message)
  }
  assert.match((await refused({ train, test }, { split: 'train=0.5,test=0.5' })).message, /`split` \(train=0.5,test=0.5\) and the input's own splits \(train, test\)/)
  assert.match((await refused({ train, test: 'rows.jsonl' })).message, /split "test": an array of conversations or a Buffer/)
  assert.match((await refused(train[0])).message, /`conversation_id` of a conversation|`turns` of a conversation/)
})

test('a dataset export of the service: each file by name and the zip of all, as exportDataset writes them', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-ds-'))
  const client = await ExportClient.connect(url, { storageRoot, syncThreshold: 1000 })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const data = conversations(90)
  await client.importConversations(jsonl(data))
  const [user, other] = [createUser(url), createUser(url)]

  const dataset = { split: 'train=0.8,validation=0.2', seed: 3, maxRecordsPerShard: 25, compression: 'gzip' }
  const request = { config: { scope: 'all', format: 'jsonl' }, dataset }
  const created = await client.createExport(user, request)
  assert.equal(created.status, 'completed')
  assert.ok(created.file_name.endsWith('.zip'), created.file_name)
  const dir = temp()
  const core = await exportDataset(jsonl(data), dir, request.config, dataset)
  const expected = [...core.splits.flatMap((s) => s.files.map((f) => f.name)), 'README.md'].sort()
  assert.deepEqual(created.files.map((f) => f.name).sort(), expected)
  assert.deepEqual((await client.getStatus(user, created.export_id)).files, created.files)
  assert.deepEqual((await client.listHistory(user)).items[0].files, created.files, 'history lists the files')

  for (const file of created.files) {
    const info = await client.inspectDownload(user, created.export_id, file.name)
    assert.deepEqual([info.size, info.sha256], [file.bytes, file.sha256])
    const download = await client.openDownload(user, created.export_id, file.name)
    const bytes = await readAll(download.stream)
    assert.ok(undated(file.name, bytes).equals(undated(file.name, fs.readFileSync(path.join(dir, file.name)))), `${file.name} is exportDataset's`)
    assert.equal(download.sha256, file.sha256)
  }
  const zip = await client.openDownload(user, created.export_id)
  assert.deepEqual([zip.contentType, zip.size, zip.sha256, zip.fileName], ['application/zip', null, null, created.file_name])
  const entries = unzip(await readAll(zip.stream))
  assert.deepEqual([...entries.keys()], created.files.map((f) => f.name), 'the zip holds the manifest, in order')
  for (const [name, bytes] of entries) assert.ok(undated(name, bytes).equals(undated(name, fs.readFileSync(path.join(dir, name)))), name)

  for (const name of ['../README.md', 'train', '', 'other/README.md']) {
    const refused = await client.openDownload(user, created.export_id, name).catch((e) => e)
    assert.equal(refused.status, 404, `${JSON.stringify(name)}: ${refused.message}`)
  }
  assert.equal((await client.openDownload(other, created.export_id, 'README.md').catch((e) => e)).status, 403)
  const logged = (await client.listHistory(user)).items[0]
  assert.equal(logged.download_count, created.files.length + 1, 'each GET counted, the inspections not')
})
