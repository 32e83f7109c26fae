// Option objects and queries are hostile input: an unknown key, a value of
// the wrong type or out of range is a typed error naming it — never a
// silent default, never an aborted process — and every error is
// recognisable at run time with isLoraExportError().
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient, isLoraExportError } from '../index.js'
import * as esm from '../index.mjs'
import { createUser, freshDatabase } from './support.mjs'

const storageRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-'))
const configError = (pattern) => (e) => isLoraExportError(e) && e.code === 'CONFIG_ERROR' && e.status === 500 && pattern.test(e.message)

test('connect refuses unknown keys, wrong types and out-of-range numbers with CONFIG_ERROR', async () => {
  const url = freshDatabase()
  await assert.rejects(ExportClient.connect(url, { storgeRoot: '/tmp/x' }), configError(/unknown field `storgeRoot`/))
  await assert.rejects(ExportClient.connect(url, { poolSize: -1 }), configError(/poolSize.*-1/))
  await assert.rejects(ExportClient.connect(url, { poolSize: 5000 }), configError(/pool_size must be between 2 and 1000/))
  await assert.rejects(ExportClient.connect(url, { expiryHours: 'soon' }), configError(/expiryHours/))
  await assert.rejects(ExportClient.connect(url, 'storageRoot=/tmp'), configError(/connect options/))
  await assert.rejects(ExportClient.connect(url, { batchSize: Number.POSITIVE_INFINITY }), configError(/`batchSize`: inf is not a finite number/))
  const client = await ExportClient.connect(url, { storageRoot: storageRoot(), poolSize: 2, schema: undefined })
  client.close()
})

test('an options object, a query or a body nested 20,000 deep is refused at its key, never a crash', async (t) => {
  let deep = 0
  for (let i = 0; i < 20_000; i++) deep = [deep]
  const url = freshDatabase()
  await assert.rejects(ExportClient.connect(url, { schema: deep }), configError(/at `schema`: nested more than 64 levels deep/))
  const client = await ExportClient.connect(url, { storageRoot: storageRoot() })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const user = createUser(url)
  const tooDeep = (path) => (e) => isLoraExportError(e) && e.status === 400 && e.issues[0].path === path && e.issues[0].code === 'too_deep'
  await assert.rejects(client.listHistory(user, { page: deep }), tooDeep('page'))
  await assert.rejects(client.createExport(user, { config: deep }), tooDeep('config'))
  await assert.rejects(client.countScopes(user, { filters: deep }), tooDeep('filters'))
  const wide = { conversationIds: Array.from({ length: 100_001 }, (_, i) => `c${i}`) }
  await assert.rejects(client.countScopes(user, wide), (e) => e.status === 400 && e.issues[0].code === 'too_large')
})

test('runWorker refuses an unknown option instead of running forever', async (t) => {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, { storageRoot: storageRoot() })
  t.after(() => client.close())
  await assert.rejects(client.runWorker({ once: true }), configError(/unknown field `once`/))
  await assert.rejects(client.runWorker({ maxJobs: -3 }), configError(/maxJobs/))
})

test('listHistory takes a query string as a URL has it, and names every bad parameter', async (t) => {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, { storageRoot: storageRoot() })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const user = createUser(url)
  const page = await client.listHistory(user, { from: '2026-12-01', to: '2026-12-31', limit: '5', page: '1', format: '' })
  assert.deepEqual([page.items.length, page.limit], [0, 5])
  await assert.rejects(client.listHistory(user, { limit: 'abc', from: 'yesterday', sort: 'name' }), (e) => {
    assert.ok(isLoraExportError(e))
    assert.deepEqual([e.code, e.status], ['VALIDATION_ERROR', 400])
    assert.deepEqual(e.issues.map((i) => i.path).sort(), ['from', 'limit', 'sort'])
    return true
  })
  await assert.rejects(client.listHistory(user, { limit: Number.NaN }), (e) => isLoraExportError(e) && e.status === 400 && e.issues[0].path === 'limit')
})

test('isLoraExportError tells the package\'s errors from everything else, in both entries', () => {
  assert.equal(esm.isLoraExportError, isLoraExportError)
  assert.throws(() => esm.migrationSql('public'), (e) => isLoraExportError(e) && e.name === 'LoraExportError' && e instanceof Error)
  for (const other of [new Error('x'), { name: 'LoraExportError' }, { name: 'LoraExportError', code: 1, status: 400 }, null, undefined, 'LoraExportError', 42]) {
    assert.equal(isLoraExportError(other), false, String(other))
  }
})
