// Typed usage of lora-export from a CommonJS module (`require`), checked by
// `tsc --noEmit` against the same index.d.ts.
import loraExport = require('lora-export')

export async function usage(jsonl: Buffer): Promise<number> {
  const result = await loraExport.transform(jsonl, { scope: 'all', format: 'csv' })
  const client: loraExport.ExportClient = await loraExport.ExportClient.connect('postgres://localhost/app')
  const page: loraExport.HistoryPage = await client.listHistory('user-id')
  client.close()
  return result.summary.conversations + page.total
}
