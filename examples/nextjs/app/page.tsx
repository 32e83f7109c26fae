export default function Home() {
  return (
    <main>
      <h1>lora-export</h1>
      <p>
        The export API: <code>POST /api/export/conversations</code>, <code>GET /api/export/status/[id]</code>,{' '}
        <code>GET /api/export/download/[id]</code>, <code>GET /api/export/history</code>,{' '}
        <code>DELETE /api/export/[id]</code>. Sign in with a Supabase access token: <code>Authorization: Bearer …</code> or the <code>@supabase/ssr</code> auth cookie.
      </p>
    </main>
  )
}
