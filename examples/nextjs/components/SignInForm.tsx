'use client'
// Signs in as @supabase/ssr's browser client does: the session JSON,
// base64url-encoded behind `base64-`, in the cookie `sb-<ref>-auth-token`
// (split into `.0`, `.1`, … chunks when long). The API routes read it.
import { useState } from 'react'

const CHUNK = 3180

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function writeCookie(name: string, value: string, maxAge: number) {
  const secure = window.location.protocol === 'https:' ? '; Secure' : ''
  document.cookie = `${name}=${value}; Path=/; SameSite=Lax; Max-Age=${maxAge}${secure}`
}

/** Removes the cookie and any chunks of it. */
export function clearSession(cookieName: string) {
  writeCookie(cookieName, '', 0)
  for (let i = 0; i < 10; i++) writeCookie(`${cookieName}.${i}`, '', 0)
}

export function writeSession(cookieName: string, accessToken: string) {
  const value =
    'base64-' +
    base64url(
      JSON.stringify({ access_token: accessToken, token_type: 'bearer', expires_in: 3600, refresh_token: 'r', user: { id: 'x' } }),
    )
  clearSession(cookieName)
  const maxAge = 60 * 60 * 24 * 7
  if (value.length <= CHUNK) return writeCookie(cookieName, value, maxAge)
  for (let i = 0; i * CHUNK < value.length; i++) writeCookie(`${cookieName}.${i}`, value.slice(i * CHUNK, (i + 1) * CHUNK), maxAge)
}

export default function SignInForm({ cookieName }: { cookieName: string }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [signedOut, setSignedOut] = useState(false)

  const submit = (event: React.FormEvent) => {
    event.preventDefault()
    const trimmed = token.trim()
    if (trimmed.split('.').length !== 3) {
      setError('An access token is a JWT: three dot-separated parts.')
      return
    }
    writeSession(cookieName, trimmed)
    window.location.assign('/')
  }

  return (
    <form className="signin" onSubmit={submit} noValidate>
      <label className="field">
        <span>Access token</span>
        <textarea
          name="access_token"
          rows={6}
          value={token}
          required
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : 'token-help'}
          onChange={(e) => {
            setToken(e.target.value)
            setError(null)
          }}
        />
      </label>
      <p id="token-help" className="muted small">
        A Supabase access token (JWT) of your project; <code>npm run setup</code> prints one for local use. It is kept in the
        cookie <code>{cookieName}</code>.
      </p>
      {error && (
        <p id="token-error" className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary">
          Sign in
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            clearSession(cookieName)
            setSignedOut(true)
          }}
        >
          Sign out
        </button>
        <span role="status" className="muted small">
          {signedOut ? 'Signed out.' : ''}
        </span>
      </div>
    </form>
  )
}
