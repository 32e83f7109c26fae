import Link from 'next/link'
import 'lora-export-react/styles.css'
import './globals.css'

export const metadata = { title: 'lora-export example' }

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#content">
          Skip to content
        </a>
        <header className="site-head">
          <span className="brand">lora-export</span>
          <nav aria-label="Main">
            <Link href="/">Conversations</Link>
            <Link href="/history">Export history</Link>
            <Link href="/admin/exports">All exports (admin)</Link>
            <Link href="/signin">Sign in</Link>
          </nav>
        </header>
        <div id="content" tabIndex={-1}>
          {children}
        </div>
      </body>
    </html>
  )
}
