// Every case of tests/golden/cases.json through the built module: the output,
// the metadata sidecar and the summary must equal the golden files that the
// Rust tests check, byte for byte.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { transform, validateOutput } from 'lora-export'
import { goldenDir } from './support.mjs'

const cases = JSON.parse(fs.readFileSync(path.join(goldenDir, 'cases.json'), 'utf8'))
const inputs = new Map()
const inputOf = (c) => {
  const name = c.input ?? cases.input
  if (!inputs.has(name)) inputs.set(name, fs.readFileSync(path.join(goldenDir, name)))
  return inputs.get(name)
}
const input = inputOf({})
const expected = (name) => {
  const file = path.join(goldenDir, 'expected', name)
  return fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0)
}

test('the golden set is the one the Rust tests use', () => {
  assert.equal(cases.export_date, '2025-11-01T12:00:00Z')
  assert.ok(cases.cases.length >= 15)
})

for (const c of cases.cases) {
  test(`golden ${c.name}: JSONL Buffer in, byte-identical out`, async () => {
    const input = inputOf(c)
    const out = await transform(input, c.request, { exportDate: cases.export_date })
    assert.ok(out.data.equals(expected(`${c.name}.${c.extension}`)), `${c.name}.${c.extension} differs`)
    assert.ok(out.metadata.equals(expected(`${c.name}.metadata.jsonl`)), `${c.name}.metadata.jsonl differs`)
    const summary = JSON.parse(expected(`${c.name}.summary.json`).toString('utf8'))
    assert.deepEqual(out.summary, summary)
    assert.equal(JSON.stringify(out.summary, null, 2) + '\n', expected(`${c.name}.summary.json`).toString('utf8'))
    assert.equal(out.fileExtension, c.extension)
    const config = c.request.config
    const report = await validateOutput(config.format, out.data, config.jsonlFlavor)
    assert.deepEqual(report.errors, [], 'the validator accepts the output')
  })

  test(`golden ${c.name}: JS objects in, the same bytes out`, async () => {
    // The malformed line that is not JSON cannot be an object; every other
    // record, well-formed or not, is given as an object.
    const objects = inputOf(c)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim())
      .flatMap((line) => {
        try {
          return [JSON.parse(line)]
        } catch {
          return []
        }
      })
    const out = await transform(objects, c.request, { exportDate: cases.export_date })
    assert.ok(out.data.equals(expected(`${c.name}.${c.extension}`)), `${c.name}.${c.extension} differs`)
    assert.ok(out.metadata.equals(expected(`${c.name}.metadata.jsonl`)))
    const golden = JSON.parse(expected(`${c.name}.summary.json`).toString('utf8'))
    // The line that is not JSON never reaches transform: one skipped record
    // fewer, and one fewer of its reason.
    // So the sentence of the skipped warning counts one fewer too.
    const { skipped, skipped_total: total, skipped_by_reason: byReason, warnings, ...rest } = out.summary
    const { skipped: goldenSkipped, skipped_total: goldenTotal, skipped_by_reason: goldenByReason, warnings: goldenWarnings, ...goldenRest } = golden
    assert.deepEqual(rest, goldenRest)
    const skippedWarning = (w) => / input records were skipped /.test(w)
    assert.deepEqual(warnings.filter((w) => !skippedWarning(w)), goldenWarnings.filter((w) => !skippedWarning(w)))
    assert.equal(warnings.filter(skippedWarning).length, total > 0 ? 1 : 0, 'a skipped record is warned about')
    assert.equal(skipped.length, goldenSkipped.length - 1, 'every malformed object is listed')
    assert.equal(total, goldenTotal - 1)
    const { 'not valid JSON': notJson, ...otherReasons } = goldenByReason
    assert.deepEqual(byReason, notJson === 1 ? otherReasons : { ...otherReasons, 'not valid JSON': notJson - 1 })
    assert.ok(skipped.every((s) => s.location.record > 0 && s.reason))
  })
}

test('a JSON array Buffer exports like JSONL', async () => {
  const c = cases.cases.find((x) => x.name === 'csv-default')
  const lines = input.toString('utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l)]
    } catch {
      return []
    }
  })
  const out = await transform(Buffer.from(JSON.stringify(lines)), c.request, { exportDate: cases.export_date })
  assert.ok(out.data.equals(expected('csv-default.csv')))
})
