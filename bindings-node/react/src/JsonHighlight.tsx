// JSON (or JSON Lines) as coloured spans: a small tokenizer, no library.
// Keys, strings, numbers, true/false/null and punctuation each get a class;
// anything else (whitespace, a malformed tail) is kept as plain text.
import type { ReactNode } from 'react'

const TOKEN = /("(?:\\.|[^"\\\n])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false)\b|\b(null)\b|([{}[\],:])/g

export function highlightJson(text: string): ReactNode[] {
  const out: ReactNode[] = []
  let last = 0
  let key = 0
  for (const match of text.matchAll(TOKEN)) {
    const at = match.index ?? 0
    if (at > last) out.push(text.slice(last, at))
    const [whole, string, colon, number, bool, nul, punct] = match
    if (string !== undefined && colon !== undefined) {
      out.push(
        <span key={key++} className="lx-tok-key">
          {string}
        </span>,
        <span key={key++} className="lx-tok-punct">
          {colon}
        </span>,
      )
    } else if (string !== undefined) {
      out.push(<span key={key++} className="lx-tok-string">{string}</span>)
    } else if (number !== undefined) {
      out.push(<span key={key++} className="lx-tok-number">{number}</span>)
    } else if (bool !== undefined) {
      out.push(<span key={key++} className="lx-tok-bool">{bool}</span>)
    } else if (nul !== undefined) {
      out.push(<span key={key++} className="lx-tok-null">{nul}</span>)
    } else if (punct !== undefined) {
      out.push(<span key={key++} className="lx-tok-punct">{punct}</span>)
    } else {
      out.push(whole)
    }
    last = at + whole.length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

export default function JsonHighlight({ text, lines }: { text: string; lines?: boolean }) {
  if (!lines) return <code className="lx-json">{highlightJson(text)}</code>
  // JSONL: one numbered row per record, each kept on one line.
  const records = text.split('\n').filter((line) => line.length > 0)
  return (
    <code className="lx-json lx-jsonl">
      {records.map((line, i) => (
        <span key={i} className="lx-jsonl-line">
          {highlightJson(line)}
          {'\n'}
        </span>
      ))}
    </code>
  )
}
