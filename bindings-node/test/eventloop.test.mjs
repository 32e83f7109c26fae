// The event loop stays responsive during a 100,000-conversation export: a
// 1 ms timer keeps ticking while the database export (and an in-memory
// transform of the same data) runs. The lag figures are printed (and written
// to $LORA_EXPORT_FIGURES when set), not asserted.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ExportClient, transform } from 'lora-export'
import { conversations, createUser, freshDatabase, jsonl } from './support.mjs'

const COUNT = 100_000

/** Runs `work` while a 1 ms interval ticks; returns its result, the ticks seen before it settled, and the lag. */
async function whileTicking(work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  histogram.enable()
  const started = performance.now()
  const result = await work()
  const ms = performance.now() - started
  const ticksBefore = ticks
  histogram.disable()
  clearInterval(timer)
  const lag = { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6 }
  return { result, ticks: ticksBefore, ms, lag }
}

function record(name, figures) {
  const line = `${name}: ${figures.ms.toFixed(0)} ms, ${figures.ticks} timer ticks, event-loop lag max ${figures.lag.maxMs.toFixed(2)} ms, p99 ${figures.lag.p99Ms.toFixed(2)} ms, mean ${figures.lag.meanMs.toFixed(2)} ms`
  console.log(line)
  if (process.env.LORA_EXPORT_FIGURES) fs.appendFileSync(process.env.LORA_EXPORT_FIGURES, line + '\n')
}

test(`the event loop keeps ticking during a ${COUNT}-conversation export`, { timeout: 600_000 }, async (t) => {
  const idle = await whileTicking(() => new Promise((resolve) => setTimeout(resolve, 2000)))
  record('idle baseline (nothing running, 2 s)', idle)
  const data = jsonl(conversations(COUNT, (i) => (i % 3 ? 'template' : 'scenario')))
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-lag-'))
  const client = await ExportClient.connect(url, { storageRoot })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  const imported = await whileTicking(() => client.importConversations(data))
  assert.equal(imported.result.imported, COUNT)
  record(`import of ${COUNT} conversations`, imported)

  const user = createUser(url)
  const queued = await client.createExport(user, { config: { scope: 'all', format: 'jsonl' } })
  assert.equal(queued.http_status, 202)
  const exported = await whileTicking(() => client.processJobs(1))
  assert.equal(exported.result, 1)
  const status = await client.getStatus(user, queued.export_id)
  assert.equal(status.status, 'completed')
  assert.equal(status.conversation_count, COUNT)
  record(`database export of ${COUNT} conversations (jsonl, processJobs)`, exported)
  assert.ok(exported.ticks >= 10, `the timer ticked ${exported.ticks} times while the export ran`)

  const inMemory = await whileTicking(() => transform(data, { scope: 'all', format: 'jsonl' }))
  assert.equal(inMemory.result.summary.conversations, COUNT)
  record(`transform of a ${COUNT}-conversation JSONL Buffer`, inMemory)
  assert.ok(inMemory.ticks >= 10, `the timer ticked ${inMemory.ticks} times while transform ran`)
})

/** This process's threads: id, name and nice value, from /proc (Linux). */
function threads() {
  const found = []
  for (const id of fs.readdirSync('/proc/self/task')) {
    let name, stat
    try {
      name = fs.readFileSync(`/proc/self/task/${id}/comm`, 'utf8').trim()
      stat = fs.readFileSync(`/proc/self/task/${id}/stat`, 'utf8')
    } catch (error) {
      if (error.code === 'ENOENT' || error.code === 'ESRCH') continue // the thread ended meanwhile
      throw error
    }
    // The fields after "(name) ": the nice value is the 19th field of the line, the 17th of these.
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
    found.push({ id: Number(id), name, nice })
  }
  return found
}

test('transform parses a Buffer on threads below the JavaScript thread', { skip: process.platform !== 'linux' && 'nice values are per thread on Linux only' }, async () => {
  const data = jsonl(conversations(COUNT, () => 'template'))
  const running = transform(data, { scope: 'all', format: 'jsonl' })
  // The parsing threads live while the export runs; this thread only
  // watches them (the export needs it only to settle its promise).
  const isSource = (thread) => thread.name === 'lora-export-rea' || thread.name === 'lora-export-par'
  const deadline = Date.now() + 60_000
  let seen = []
  const lowered = () => seen.some((t) => t.name === 'lora-export-par') && seen.every((t) => t.nice === 10)
  while (!lowered() && Date.now() < deadline) {
    const now = threads().filter(isSource)
    if (now.length) seen = now
    else if (seen.length) break // they ended
  }
  const result = await running
  assert.equal(result.summary.conversations, COUNT)
  assert.ok(seen.some((t) => t.name === 'lora-export-par'), `the parsing threads were seen: ${JSON.stringify(seen)}`)
  assert.deepEqual(seen.map((t) => t.nice), seen.map(() => 10), `their nice values: ${JSON.stringify(seen)}`)
  const main = threads().find((t) => t.id === process.pid)
  assert.equal(main.nice, 0, 'the JavaScript thread keeps its priority')
})
