// Parquet (`format: 'parquet'`) through `transform`: the Rust writer's
// file, its MIME type and extension, and the compression it refuses
// (Parquet compresses its own pages). Python's tests read the rows back
// with pyarrow, polars, DuckDB and `datasets` (test_parquet.py).
import test from 'node:test'
import assert from 'node:assert/strict'
import { transform, validateOutput } from 'lora-export'
import { conversations } from './support.mjs'

test('an export with format parquet is a Parquet file', async () => {
  const out = await transform(conversations(25), { scope: 'all', format: 'parquet' })
  assert.equal(out.data.subarray(0, 4).toString('latin1'), 'PAR1')
  assert.equal(out.data.subarray(-4).toString('latin1'), 'PAR1')
  assert.equal(out.fileExtension, 'parquet')
  assert.equal(out.mimeType, 'application/vnd.apache.parquet')
  assert.equal(out.summary.conversations, 25)
  assert.equal(out.summary.bytes, out.data.length)
  const report = await validateOutput('parquet', out.data)
  assert.deepEqual(report.errors, [])
  assert.equal(report.records, 25)
})

test('parquet refuses a compression around it', async () => {
  const request = { config: { scope: 'all', format: 'parquet' }, compression: 'gzip' }
  await assert.rejects(transform(conversations(2), request), (e) =>
    e.issues?.[0]?.path === 'compression' && e.issues[0].code === 'conflict')
})
