'use client'
// Where a signed-out user goes: the app's sign-in, given as a URL or as a
// function (a router push, a provider's sign-in call).

/** The app's sign-in: a URL, or a function the link calls. */
export type SignIn = string | (() => void)

/** "Sign in" as a link to the URL, or a button calling the function; nothing without one. */
export function SignInLink({ signIn, children = 'Sign in' }: { signIn?: SignIn; children?: string }) {
  if (signIn === undefined) return null
  if (typeof signIn === 'string') return <a href={signIn}>{children}</a>
  return (
    <button type="button" className="lx-link" onClick={signIn}>
      {children}
    </button>
  )
}

/** What a view shows when the API answered 401: the way to the app's sign-in. */
export function SignInNotice({ message, signIn }: { message?: string; signIn?: SignIn }) {
  return (
    <div className="lx-notice" role="alert">
      <p>
        You are not signed in{message ? ` (${message})` : ''}. <SignInLink signIn={signIn} />
      </p>
    </div>
  )
}
