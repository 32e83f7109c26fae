// What a page shows when the API answered 401: the way to /signin.
import Link from 'next/link'

export default function SignInNotice({ message }: { message?: string }) {
  return (
    <div className="notice" role="alert">
      <p>
        You are not signed in{message ? ` (${message})` : ''}. <Link href="/signin">Sign in</Link> with a Supabase access token.
      </p>
    </div>
  )
}
