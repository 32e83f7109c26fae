// Measures transform of 10,000 conversations through the binding — from JS
// objects and from a JSONL Buffer — next to plain JSON.stringify of the same
// objects in Node. Median of 7 runs after 2 warm-ups; prints one line each.
//   node bench/transform.mjs [count]
import { transform } from 'lora-export'
import { conversations, jsonl } from '../test/support.mjs'

const count = Number(process.argv[2] ?? 10_000)
const objects = conversations(count, (i) => (i % 3 ? 'template' : 'scenario'))
const buffer = jsonl(objects)
const config = { scope: 'all', format: 'jsonl' }

async function median(fn) {
  const times = []
  for (let i = 0; i < 9; i++) {
    const start = process.hrtime.bigint()
    await fn()
    if (i >= 2) times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const rows = [
  ['JSON.stringify of the objects (one array)', await median(() => JSON.stringify(objects))],
  ['JSON.stringify of each object, joined as JSONL', await median(() => objects.map((o) => JSON.stringify(o)).join('\n'))],
  ['transform(objects) → OpenAI JSONL', await median(() => transform(objects, config))],
  ['transform(JSONL Buffer) → OpenAI JSONL', await median(() => transform(buffer, config))],
  ['transform(objects) → CSV', await median(() => transform(objects, { scope: 'all', format: 'csv' }))],
  ['transform(JSONL Buffer) → CSV', await median(() => transform(buffer, { scope: 'all', format: 'csv' }))],
]
console.log(`${count} conversations (${(buffer.length / 1e6).toFixed(1)} MB as JSONL), Node ${process.version}, median of 7 runs:`)
for (const [name, ms] of rows) console.log(`  ${name.padEnd(50)} ${ms.toFixed(1).padStart(8)} ms`)
