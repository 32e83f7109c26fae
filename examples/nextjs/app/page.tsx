export default function Home() {
  return (
    <main>
      <h1>lora-export</h1>
      <p>
        The export API: <code>POST /api/export/conversations</code>, <code>GET /api/export/status/[id]</code>,{' '}
        <code>GET /api/export/download/[id]</code>, <code>GET /api/export/history</code>,{' '}
        <code>DELETE /api/export/[id]</code>. Send the user id in the <code>x-user-id</code> header.
      </p>
    </main>
  )
}
