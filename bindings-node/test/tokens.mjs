// Supabase-shaped access tokens for the tests, minted with node:crypto: HS256
// with a test secret, ES256 with a key pair generated per run whose public
// half is served as a JWKS on 127.0.0.1; and the auth cookie @supabase/ssr
// writes (`base64-` + base64url of the session JSON, in chunks).
import crypto from 'node:crypto'
import http from 'node:http'

export const SECRET = 'test-jwt-secret-of-at-least-32-characters-long'

const b64url = (value) => Buffer.from(value).toString('base64url')

/** The claims of a signed-in user's token for `supabaseUrl`, with `overrides` (a `null` removes a claim). */
export function claims(userId, supabaseUrl, overrides = {}) {
  const now = Math.floor(Date.now() / 1000)
  const base = {
    iss: `${supabaseUrl}/auth/v1`, sub: userId, aud: 'authenticated', role: 'authenticated',
    email: 'user@example.com', iat: now, exp: now + 3600, session_id: crypto.randomUUID(), is_anonymous: false,
  }
  const all = { ...base, ...overrides }
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== null))
}

/** An HS256 token signed with `secret`. */
export function hs256(payload, secret = SECRET) {
  const signed = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`
  return `${signed}.${crypto.createHmac('sha256', secret).update(signed).digest('base64url')}`
}

/** A fresh P-256 key pair: `{ kid, privateKey, jwk }`. */
export function es256Key(kid = crypto.randomUUID()) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } }
}

/** An ES256 token signed with `key` (its `kid` in the header). */
export function es256(payload, key) {
  const signed = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: key.kid }))}.${b64url(JSON.stringify(payload))}`
  const signature = crypto.sign('sha256', Buffer.from(signed), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${signed}.${signature.toString('base64url')}`
}

/** An unsigned token (`alg: none`). */
export function unsigned(payload) {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`
}

/** `token` with its payload replaced by `payload` (the signature kept). */
export function tampered(token, payload) {
  const [header, , signature] = token.split('.')
  return `${header}.${b64url(JSON.stringify(payload))}.${signature}`
}

/** Serves `{ keys }` at `/auth/v1/.well-known/jwks.json` on 127.0.0.1: `{ supabaseUrl, close() }`. */
export async function serveJwks(keys) {
  const server = http.createServer((req, res) => {
    if (req.url !== '/auth/v1/.well-known/jwks.json') return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { supabaseUrl: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }
}

/** The `Cookie` header @supabase/ssr's browser client leaves for `accessToken`, split into chunks of `chunk` characters. */
export function ssrCookie(supabaseUrl, accessToken, chunk = 3180) {
  const name = `sb-${new URL(supabaseUrl).hostname.split('.')[0]}-auth-token`
  const value = 'base64-' + b64url(JSON.stringify({
    access_token: accessToken, token_type: 'bearer', expires_in: 3600, refresh_token: 'r', user: { id: 'x' },
  }))
  if (value.length <= chunk) return `theme=dark; ${name}=${value}`
  const parts = []
  for (let i = 0; i * chunk < value.length; i++) parts.push(`${name}.${i}=${value.slice(i * chunk, (i + 1) * chunk)}`)
  return ['theme=dark', ...parts.reverse()].join('; ')
}
