// The admin history: `exportRoutes(...).adminHistory` and
// `client.listAdminHistory` against PostgreSQL — every user's exports for a
// token whose app_metadata.role is admin, one user's with `?user=`, paged
// and sorted; 403 ADMIN_REQUIRED for a signed-in user who is not an admin,
// an anonymous one, and a role claimed anywhere but the verified token's
// app_metadata; 401 without a token. And the history's sort and order.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient } from 'lora-export'
import { exportRoutes } from 'lora-export/next'
import { conversations, createUser, freshDatabase, jsonl } from './support.mjs'
import { SECRET, claims, hs256 } from './tokens.mjs'

const SUPABASE_URL = 'http://127.0.0.1:9'

test('adminHistory: every user for an admin, 403 for anyone else, 401 without a token', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-admin-'))
  const client = await ExportClient.connect(url, { storageRoot, supabaseUrl: SUPABASE_URL, jwtSecret: SECRET, allowAnonymous: true })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(conversations(6)))
  const [alice, bob, admin, anon] = [createUser(url), createUser(url), createUser(url), createUser(url)]
  const bearer = (payload) => ({ authorization: `Bearer ${hs256(payload)}` })
  const as = {
    alice: bearer(claims(alice, SUPABASE_URL)),
    bob: bearer(claims(bob, SUPABASE_URL)),
    admin: bearer(claims(admin, SUPABASE_URL, { app_metadata: { role: 'admin' } })),
    // Anyone may write user_metadata: a role there makes no administrator.
    selfMade: bearer(claims(bob, SUPABASE_URL, { user_metadata: { role: 'admin' } })),
    anonymous: bearer(claims(anon, SUPABASE_URL, { is_anonymous: true })),
  }
  const routes = exportRoutes({ client })
  const get = (headers, query = '') =>
    routes.adminHistory.GET(new Request(`http://localhost/api/export/admin/history${query}`, { headers }), { params: Promise.resolve({}) })

  for (const [user, n] of [[alice, 3], [bob, 2]]) {
    for (let i = 0; i < n; i++) {
      const ids = conversations(n).slice(0, i + 1).map((c) => c.conversation_id)
      await client.createExport(user, { config: { scope: 'selected', format: i % 2 ? 'csv' : 'jsonl' }, conversationIds: ids })
    }
  }

  const all = await get(as.admin, '?limit=100')
  assert.equal(all.status, 200)
  const page = await all.json()
  assert.equal(page.total, 5)
  assert.deepEqual(new Set(page.items.map((i) => i.user_id)), new Set([alice, bob]))
  const created = page.items.map((i) => i.created_at)
  assert.deepEqual(created, [...created].sort().reverse(), 'newest first')

  const bobs = await (await get(as.admin, `?user=${bob}`)).json()
  assert.equal(bobs.total, 2)
  assert.ok(bobs.items.every((i) => i.user_id === bob))

  const sorted = await (await get(as.admin, '?sort=conversation_count&order=asc&limit=2&page=1')).json()
  assert.deepEqual(sorted.items.map((i) => i.conversation_count), [1, 1])
  assert.equal(sorted.totalPages, 3)
  const csv = await (await get(as.admin, '?format=csv')).json()
  assert.ok(csv.total === 2 && csv.items.every((i) => i.format === 'csv'))

  // Nobody else: a signed-in user, a role anywhere but app_metadata, an
  // anonymous user (even with a role in the query), and no token at all.
  for (const [who, headers, query] of [
    ['alice', as.alice, ''],
    ['a user_metadata role', as.selfMade, ''],
    ['alice asking for role=admin in the query', as.alice, '?role=admin'],
    ['an anonymous user', as.anonymous, ''],
  ]) {
    const refused = await get(headers, query)
    const body = await refused.json()
    if (query) {
      // An unknown key never reaches the admin check: still no rows.
      assert.equal(refused.status, 400, who)
      assert.equal(body.issues[0].path, 'role', who)
    } else {
      assert.equal(refused.status, 403, who)
      assert.equal(body.error, 'ADMIN_REQUIRED', who)
    }
    assert.equal(body.items, undefined, who)
  }
  const none = await get({})
  assert.equal(none.status, 401)
  assert.equal((await none.json()).error, 'INVALID_TOKEN')

  // The own history sorts too, and refuses `user`.
  const own = await client.listHistory(alice, { sort: 'conversation_count', order: 'desc' })
  assert.deepEqual(own.items.map((i) => i.conversation_count), [3, 2, 1])
  await assert.rejects(client.listHistory(alice, { user: bob }), (e) => e.code === 'VALIDATION_ERROR' && e.issues[0].path === 'user')
  await assert.rejects(client.listAdminHistory(alice, {}), (e) => e.code === 'ADMIN_REQUIRED' && e.status === 403)
})
