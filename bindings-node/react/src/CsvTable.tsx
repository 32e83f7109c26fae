// A CSV preview as an HTML table: an RFC 4180 reader (quoted fields, doubled
// quotes, CRLF or LF, newlines inside quotes); the first row is the header.

export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows
}

export default function CsvTable({ text, maxRows = 10 }: { text: string; maxRows?: number }) {
  const [header = [], ...body] = parseCsv(text)
  const shown = body.slice(0, maxRows)
  return (
    <div className="lx-csv-wrap">
      <table className="lx-data-table lx-csv">
        <caption className="lx-visually-hidden">CSV preview</caption>
        <thead>
          <tr>
            {header.map((cell, i) => (
              <th key={i} scope="col">
                {cell}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row, r) => (
            <tr key={r}>
              {row.map((cell, c) => (
                <td key={c}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {body.length > shown.length && (
        <p className="lx-muted lx-small">
          {shown.length} of {body.length} rows shown.
        </p>
      )}
    </div>
  )
}
