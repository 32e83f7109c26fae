'use client'
// Every user's exports with a user filter, for an administrator (a token
// whose app_metadata.role is admin); anyone else sees the API's 403.
import { AdminExports } from 'lora-export-react'

export default function AdminExportsPage() {
  return (
    <main className="page">
      <div className="page-head">
        <h1>All exports (admin)</h1>
      </div>
      <AdminExports signIn="/signin" />
    </main>
  )
}
