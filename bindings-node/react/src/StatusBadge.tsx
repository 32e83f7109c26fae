// A status as a small coloured label (a conversation's or an export's).

export default function StatusBadge({ status }: { status: string }) {
  return <span className={`lx-badge lx-status-${status}`}>{status.replaceAll('_', ' ')}</span>
}
