// The pure functions, errors, panics, and the two module systems.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import * as esm from 'lora-export'
import { contentDisposition, debugPanic, exportFileName, preview, transform, validateExportRequest, validateOutput } from 'lora-export'
import { conversation, conversations, root } from './support.mjs'

const require = createRequire(import.meta.url)

test('CommonJS require and ESM import give the same native functions', () => {
  const cjs = require('lora-export')
  for (const name of ['transform', 'preview', 'validateExportRequest', 'validateOutput', 'exportFileName', 'contentDisposition', 'ExportClient']) {
    assert.equal(typeof esm[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
  }
  assert.equal(esm.default, cjs)
})

test('a request or config nested past 64 levels is refused at its key by every pure function', async () => {
  let deep = 0
  for (let i = 0; i < 20_000; i++) deep = [deep]
  const refused = validateExportRequest({ config: { scope: 'all', format: 'csv' }, filters: deep })
  assert.deepEqual(refused.issues.map((i) => [i.path, i.code]), [['filters', 'too_deep']])
  const tooDeep = (path) => (e) => e.status === 400 && e.issues[0].path === path && e.issues[0].code === 'too_deep'
  await assert.rejects(transform([conversation(1)], { scope: 'all', format: 'jsonl', systemPrompt: deep }), tooDeep('systemPrompt'))
  await assert.rejects(preview([conversation(1)], { scope: 'all', format: 'jsonl', systemPrompt: deep }), tooDeep('systemPrompt'))
})

test('validateExportRequest: ok with every default filled in, or every issue with its path', () => {
  const ok = validateExportRequest({ config: { scope: 'all', format: 'csv' } })
  assert.equal(ok.ok, true)
  assert.equal(ok.request.config.includeMetadata, true)
  assert.equal(ok.request.config.jsonlFlavor, 'openai')
  const bad = validateExportRequest({ config: { scope: 'filtered', format: 'xml' }, filters: { qualityRange: { min: 7, max: 11 }, tierType: [] } })
  assert.equal(bad.ok, false)
  assert.deepEqual(
    bad.issues.map((i) => [i.path, i.code]),
    [['config.format', 'invalid_enum'], ['filters.qualityRange.max', 'out_of_range'], ['filters.tierType', 'unknown_key']],
  )
  assert.match(bad.issues[2].message, /did you mean `tierTypes`/)
  assert.equal(validateExportRequest('not an object').ok, false)
})

test('errors reject with code, status and issues', async () => {
  await assert.rejects(transform([conversation(1)], { scope: 'all', format: 'xml' }), (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'VALIDATION_ERROR')
    assert.equal(e.status, 400)
    assert.deepEqual(e.issues.map((i) => i.path), ['config.format'])
    return true
  })
  const bad = { ...conversation(2), turns: [] }
  await assert.rejects(transform([conversation(1), bad], { scope: 'all', format: 'jsonl' }, { failOnMalformed: true }), (e) => {
    assert.equal(e.code, 'MALFORMED_RECORD')
    assert.equal(e.status, 400)
    assert.match(e.message, /record 2/)
    return true
  })
  await assert.rejects(transform([], { scope: 'all', format: 'jsonl' }, { exportDate: 'yesterday' }), (e) => e.issues[0].path === 'exportDate')
  await assert.rejects(validateOutput('xml', 'x'), (e) => e.code === 'UNKNOWN_FORMAT' && e.status === 400)
  assert.throws(() => exportFileName('template', 'not a date', 1, 'csv'), (e) => e.code === 'VALIDATION_ERROR' && e.issues[0].path === 'date')
})

test('malformed objects are listed with their record number, never dropped', async () => {
  const list = [conversation(1), { conversation_id: 'x', turns: [] }, conversation(3), 42]
  const out = await transform(list, { scope: 'all_data', format: 'jsonl' })
  assert.equal(out.summary.conversations, 2)
  assert.deepEqual(out.summary.skipped.map((s) => s.location.record), [2, 4])
  assert.equal(out.summary.skipped[0].conversation_id, 'x')
})

test('rows of your own: no id needed, skips warned, an empty input refused unless allowed (issue 36)', async () => {
  const chat = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }]
  const out = await transform([{ messages: chat }, { messages: [] }, { messages: chat, status: 'done' }], { scope: 'all', format: 'jsonl' })
  assert.equal(out.summary.conversations, 2)
  const meta = out.data.toString('utf8').trim().split('\n').map((l) => JSON.parse(l).metadata)
  assert.match(meta[0].conversation_id, /^sha256:[0-9a-f]{16}$/)
  assert.deepEqual(meta[1].user_fields, { status: 'done' })
  assert.equal(meta[0].tier, null)
  assert.ok(out.summary.warnings.some((w) => w.startsWith('1 of 3 input records were skipped (1 × conversation has no turns)')))
  assert.ok(out.summary.warnings.some((w) => w.includes('user_fields')))
  await assert.rejects(transform([], { scope: 'all', format: 'jsonl' }), (e) => e.code === 'NO_CONVERSATIONS' && e.status === 400)
  assert.equal((await transform([], { scope: 'all', format: 'jsonl' }, { allowEmpty: true })).data.length, 0)
})

test('columns maps your names, keepColumns carries the others, the rest is reported (issue 36)', async () => {
  const chat = (q) => [{ role: 'user', content: q }, { role: 'assistant', content: 'A' }]
  const rows = [0, 1, 2].map((i) => ({ dialog: chat(`Q${i}`), uid: `u-${i}`, score: 7 + i / 2, source: 'web', lang: 'en' }))
  const request = { config: { scope: 'all', format: 'jsonl' }, columns: { dialog: 'messages', uid: 'conversation_id', score: 'quality_score' }, keepColumns: ['source'] }
  const jsonl = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))
  const outputs = []
  for (const input of [rows, jsonl]) {
    const out = await transform(input, request)
    assert.equal(out.summary.conversations, 3)
    assert.deepEqual(out.summary.ignored_fields, { lang: 3 })
    assert.ok(out.summary.warnings.some((w) => w.includes('neither read nor kept') && w.includes('lang (3)')))
    const meta = out.data.toString('utf8').trim().split('\n').map((l) => JSON.parse(l).metadata)
    assert.deepEqual([meta[1].conversation_id, meta[1].quality_score, meta[1].user_fields], ['u-1', 7.5, { source: 'web' }])
    outputs.push(out.data.toString('utf8'))
  }
  assert.equal(outputs[0], outputs[1])
  const all = await transform(rows, { ...request, keepColumns: true })
  assert.equal(all.summary.ignored_fields, undefined)
  assert.deepEqual(JSON.parse(all.data.toString('utf8').split('\n')[0]).metadata.user_fields, { source: 'web', lang: 'en' })
  await assert.rejects(transform(rows, { ...request, columns: { dialog: 'messages', score: 'quality' } }), (e) => {
    assert.equal(e.code, 'VALIDATION_ERROR')
    assert.deepEqual(e.issues.map((i) => [i.path, i.code]), [['columns.score', 'invalid_enum']])
    return true
  })
  await assert.rejects(transform(rows, { ...request, columns: { chat: 'messages' } }), (e) =>
    e.code === 'VALIDATION_ERROR' && e.issues[0].path === 'columns.chat' && e.issues[0].code === 'missing_column')
  const checked = validateExportRequest({ ...request, columns: { a: 'turns', b: 'messages' } })
  assert.deepEqual(checked.issues.map((i) => [i.path, i.code]), [['columns.b', 'duplicate']])
})

test('transform takes an array of objects whose JSON is longer than the longest JavaScript string', async () => {
  // 530 conversations sharing one 1 MiB string: 556 MB as JSON, over V8's
  // 536,870,888-character limit, so one JSON.stringify of the array throws.
  const content = 'x'.repeat(1 << 20)
  const list = Array.from({ length: 530 }, (_, i) => ({
    conversation_id: `big-${i}`,
    turns: [{ role: 'user', content }, { role: 'assistant', content: 'ok' }],
  }))
  assert.throws(() => JSON.stringify(list), RangeError)
  const out = await transform(list, { config: { scope: 'selected', format: 'jsonl' }, conversationIds: ['big-7', 'big-529'] })
  assert.equal(out.summary.conversations, 2)
  assert.equal(out.summary.excluded, 528)
  assert.ok(out.data.includes(content))
})

test('transform applies the scope, filters and selection of a whole request', async () => {
  const list = conversations(20, (i) => (i % 4 === 0 ? 'edge_case' : 'template'))
  const filtered = await transform(list, { config: { scope: 'filtered', format: 'csv' }, filters: { tierTypes: ['edge_case'] } })
  assert.equal(filtered.summary.conversations, 5)
  assert.equal(filtered.summary.excluded, 15)
  const selected = await transform(list, { config: { scope: 'selected', format: 'json' }, conversationIds: ['conv-0000003', 'nope'] })
  assert.equal(selected.summary.conversations, 1)
  assert.deepEqual(selected.summary.missing_ids, ['nope'])
  assert.equal(selected.mimeType, 'application/json')
})

test('preview renders the first n conversations as the export would', async () => {
  const text = await preview(conversations(5), { scope: 'all', format: 'markdown' }, 2)
  assert.equal(text.match(/^# Conversation: /gm).length, 2)
  assert.equal((await preview(conversations(5), { scope: 'all', format: 'markdown' })).match(/^# Conversation: /gm).length, 3)
  await assert.rejects(preview([conversation(1), { title: 'no id' }], { scope: 'all', format: 'csv' }), (e) => e.code === 'MALFORMED_RECORD')
})

test('validateOutput finds errors with their location', async () => {
  const report = await validateOutput('jsonl', Buffer.from('{"messages":[{"role":"user","content":"Hi"}]}\nnot json\n'))
  assert.equal(report.records, 2)
  assert.deepEqual(
    report.errors.map((e) => [e.location.line, e.code]),
    [[1, 'example_missing_assistant_message'], [2, 'invalid_json']],
  )
  const fine = await validateOutput('jsonl', '{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}\n', 'openai')
  assert.deepEqual(fine.errors, [])
})

test('file names and Content-Disposition come from the core', () => {
  assert.equal(exportFileName('template', '2025-10-29', 42, 'jsonl'), 'training-data-template-2025-10-29-42.jsonl')
  assert.equal(exportFileName('../../etc', '2025-10-29T23:30:00Z', 1, 'md'), 'training-data-etc-2025-10-29-1.md')
  assert.equal(
    contentDisposition('training-data-template-2025-10-29-42.jsonl'),
    `attachment; filename="training-data-template-2025-10-29-42.jsonl"; filename*=UTF-8''training-data-template-2025-10-29-42.jsonl`,
  )
})

test('a panic becomes an INTERNAL error with an error id, its text only on stderr, and the process goes on', async () => {
  const internal = (place) => (e) => {
    assert.equal(e.code, 'INTERNAL')
    assert.equal(e.status, 500)
    assert.match(e.message, /^internal error INTERNAL \(error id [0-9a-f-]{36}\)/)
    assert.doesNotMatch(e.message, /panic/, `${place}: the panic text stays on the server`)
    return true
  }
  assert.throws(() => debugPanic('sync'), internal('sync'))
  await assert.rejects(debugPanic('blocking'), internal('blocking'))
  await assert.rejects(debugPanic('async'), internal('async'))
  const out = await transform([conversation(1)], { scope: 'all', format: 'jsonl' })
  assert.equal(out.summary.conversations, 1, 'the module still works')
  const script = "const { debugPanic } = require('./index.js'); try { debugPanic('sync') } catch (e) { console.log(e.message) }"
  const child = spawnSync(process.execPath, ['-e', script], { cwd: path.join(root, 'bindings-node'), encoding: 'utf8' })
  const id = /error id ([0-9a-f-]{36})/.exec(child.stdout)[1]
  assert.match(child.stderr, new RegExp(`error id ${id}\\): deliberate panic \\(sync\\)`), 'the operator sees the text under the same id')
})
