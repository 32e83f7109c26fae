// The API's 400 issues for one field, shown beside it (the control points
// here with aria-describedby).
import type { Issue } from './api.js'

export default function FieldIssues({ id, issues }: { id: string; issues: Issue[] }) {
  if (issues.length === 0) return null
  return (
    <ul id={id} className="lx-field-error">
      {issues.map((issue, i) => (
        <li key={i}>
          <code>{issue.path}</code>: {issue.message}
        </li>
      ))}
    </ul>
  )
}
