// Sign-in for the example: paste a Supabase access token; the form stores it
// in the @supabase/ssr auth cookie whose name follows SUPABASE_URL (read at
// request time, after `await connection()`, so that part is rendered per
// request, not at build; the heading is static).
import { connection } from 'next/server'
import { Suspense } from 'react'
import SignInForm from '@/components/SignInForm'

/** `sb-<ref>-auth-token`, `<ref>` being the first label of SUPABASE_URL's host name. */
function cookieName(supabaseUrl: string | undefined): string | null {
  if (!supabaseUrl) return null
  try {
    return `sb-${new URL(supabaseUrl).hostname.split('.')[0]}-auth-token`
  } catch {
    return null
  }
}

export default function SignInPage() {
  return (
    <main className="page narrow-page">
      <h1>Sign in</h1>
      <Suspense>
        <SessionCookieForm />
      </Suspense>
    </main>
  )
}

async function SessionCookieForm() {
  await connection()
  const name = cookieName(process.env.SUPABASE_URL)
  return name ? (
    <SignInForm cookieName={name} />
  ) : (
    <p className="field-error" role="alert">
      SUPABASE_URL is not set (or is not a URL): the server cannot tell which cookie holds the session.
    </p>
  )
}
