// The seeds' design in Node (seed 003, JSONLTransformer and CSVTransformer):
// every conversation in memory, one JSON.stringify per conversation joined
// with "\n" for JSONL; rows flattened one per turn and written by
// csv-stringify for CSV; the whole export built as one string, then written.
//
//   node alt_node.mjs jsonl|csv INPUT OUTPUT

import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { stringify } from "csv-stringify/sync";

const CSV_COLUMNS = [
  "conversation_id", "title", "status", "tier", "turn_number", "role", "content",
  "quality_score", "persona", "emotion", "topic", "created_at", "updated_at",
];

function readConversations(path) {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line))
    .filter((c) => c.status === "approved");
}

export function toJsonl(conversations) {
  const lines = [];
  for (const c of conversations) {
    const training = {
      messages: c.turns.map((t) => ({ role: t.role, content: t.content })),
      metadata: {
        conversation_id: c.conversation_id,
        title: c.title,
        tier: c.tier,
        quality_score: c.qualityScore,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
        persona: c.persona ?? null,
        emotion: c.emotion ?? null,
        topic: c.topic ?? null,
      },
    };
    lines.push(JSON.stringify(training));
  }
  return lines.join("\n") + "\n";
}

function toCsv(conversations) {
  const rows = [];
  for (const c of conversations) {
    c.turns.forEach((t, i) => {
      rows.push([
        c.conversation_id, c.title, c.status, c.tier, i + 1, t.role, t.content,
        c.qualityScore, c.persona ?? "", c.emotion ?? "", c.topic ?? "",
        c.createdAt, c.updatedAt,
      ]);
    });
  }
  return stringify(rows, {
    bom: true,
    header: true,
    columns: CSV_COLUMNS,
    record_delimiter: "windows",
    // Without this, a custom record_delimiter turns off quoting of fields
    // that contain a bare "\n", and every multi-line turn breaks its row.
    quote_record_delimiter: true,
    escape_formulas: true,
  });
}

function main() {
  const [format, input, output] = process.argv.slice(2);
  const transform = { jsonl: toJsonl, csv: toCsv }[format];
  if (!transform || !output) {
    console.error("usage: node alt_node.mjs jsonl|csv INPUT OUTPUT");
    process.exit(2);
  }
  writeFileSync(output, transform(readConversations(input)));
}

// Run as a script; imported (bench_node.mjs), only its functions.
if (import.meta.url === pathToFileURL(process.argv[1]).href) main();
