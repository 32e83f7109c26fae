// Sign-in through the binding: tokens verified by the library (HS256 with a
// test secret, ES256 against a JWKS served on 127.0.0.1), the Session it
// returns accepted by every user operation, and every refusal a 401 with a
// reason.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ExportClient, Session } from '../index.js'
import { conversations, createUser, freshDatabase, jsonl, sql } from './support.mjs'
import { SECRET, claims, es256, es256Key, hs256, serveJwks, ssrCookie, tampered, unsigned } from './tokens.mjs'

test('sessions from verified tokens drive the user operations; bad tokens are 401 with a reason', async (t) => {
  const key = es256Key()
  const jwks = await serveJwks([key])
  t.after(() => jwks.close())
  const { supabaseUrl } = jwks
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-'))
  const client = await ExportClient.connect(url, { storageRoot, supabaseUrl, jwtSecret: SECRET })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(conversations(3)))
  const [alice, bob] = [createUser(url), createUser(url)]

  const viaSecret = await client.verifySession(hs256(claims(alice, supabaseUrl)))
  assert.ok(viaSecret instanceof Session)
  assert.equal(viaSecret.userId, alice)
  assert.equal(viaSecret.email, 'user@example.com')
  const viaJwks = await client.verifySession(es256(claims(bob, supabaseUrl), key))
  assert.equal(viaJwks.userId, bob)
  const viaCookie = await client.authenticate(null, ssrCookie(supabaseUrl, es256(claims(alice, supabaseUrl), key), 100))
  assert.equal(viaCookie.userId, alice)
  assert.equal((await client.authenticate(`Bearer ${hs256(claims(bob, supabaseUrl))}`, null)).userId, bob)

  const created = await client.createExport(viaSecret, { config: { scope: 'all', format: 'jsonl' } })
  assert.equal(created.status, 'completed')
  assert.equal((await client.getStatus(viaCookie, created.export_id)).status, 'completed')
  await assert.rejects(client.getStatus(viaJwks, created.export_id), (e) => e.status === 403)
  assert.equal((await client.listHistory(viaSecret)).total, 1)
  assert.equal((await client.listHistory(viaJwks)).total, 0)
  assert.throws(() => new Session(), 'JavaScript cannot make a Session')
  assert.throws(() => client.listHistory({ userId: alice }))

  const refused = async (promise, reason) =>
    assert.rejects(promise, (e) => e.code === 'INVALID_TOKEN' && e.status === 401 && e.reason === reason)
  const good = claims(alice, supabaseUrl)
  await refused(client.verifySession(hs256({ ...good, exp: Math.floor(Date.now() / 1000) - 120 })), 'expired')
  await refused(client.verifySession(unsigned(good)), 'algorithm_not_allowed')
  await refused(client.verifySession(tampered(hs256(good), { ...good, sub: bob })), 'bad_signature')
  await refused(client.verifySession(hs256({ ...good, aud: 'anon' })), 'wrong_audience')
  await refused(client.verifySession(hs256({ ...good, role: 'anon' })), 'wrong_role')
  await refused(client.verifySession(es256(good, es256Key())), 'unknown_key')
  await refused(client.authenticate(null, 'theme=dark'), 'missing')
  await refused(client.authenticate(), 'missing')
})

// Issue 33, finding 8: an anonymous session (Supabase's anonymous sign-in)
// is refused with 403 ANONYMOUS_NOT_ALLOWED unless the app sets
// allowAnonymous; a token without `iss` is refused when supabaseUrl is set.
test('anonymous sessions are refused unless allowAnonymous; a token needs its iss', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-'))
  const supabaseUrl = 'https://abcdefghijklmnop.supabase.co'
  const client = await ExportClient.connect(url, { storageRoot, supabaseUrl, jwtSecret: SECRET })
  t.after(() => client.close())
  await client.migrate({ supabaseStandIns: true })
  await client.importConversations(jsonl(conversations(3)))
  const user = createUser(url)
  const guest = await client.verifySession(hs256(claims(user, supabaseUrl, { is_anonymous: true })))
  const body = { config: { scope: 'all_data', format: 'jsonl' } }
  await assert.rejects(client.createExport(guest, body), (e) => e.code === 'ANONYMOUS_NOT_ALLOWED' && e.status === 403)
  await assert.rejects(client.listHistory(guest), (e) => e.code === 'ANONYMOUS_NOT_ALLOWED' && e.status === 403)
  await assert.rejects(client.verifySession(hs256(claims(user, supabaseUrl, { iss: null }))),
    (e) => e.code === 'INVALID_TOKEN' && e.reason === 'wrong_issuer')

  const allowing = await ExportClient.connect(url, { storageRoot, supabaseUrl, jwtSecret: SECRET, allowAnonymous: true })
  t.after(() => allowing.close())
  const created = await allowing.createExport(guest, body)
  assert.equal(created.status, 'completed')
})

test('a client without sign-in configuration says how to configure it', async (t) => {
  const url = freshDatabase()
  const client = await ExportClient.connect(url, { storageRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-')) })
  t.after(() => client.close())
  await assert.rejects(client.verifySession('a.b.c'), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('SUPABASE_URL'))
  await assert.rejects(ExportClient.connect(url, { jwtSecret: 'short' }), (e) => e.code === 'CONFIG_ERROR' && e.message.includes('32 bytes'))
})

test('migrationSql(schema) is the schema script the Rust example prints, for the library\'s schema only', async () => {
  const { migrationSql, Session: EsmSession } = await import('../index.mjs')
  assert.equal(EsmSession, Session, 'the ESM entry exports Session too')
  const sql = migrationSql()
  assert.ok(sql.startsWith('-- lora-export schema "lora_export", migrations 1 to '))
  assert.match(sql, /INSERT INTO lora_export_migrations \(version, name\) VALUES \(8, 'own_schema'\)/)
  assert.match(migrationSql('training_export'), /CREATE SCHEMA IF NOT EXISTS "training_export"/)
  assert.throws(() => migrationSql('public'), (e) => e.code === 'CONFIG_ERROR' && /belongs to the app/.test(e.message))
  assert.throws(() => migrationSql('x"; DROP SCHEMA auth; --'), (e) => e.code === 'CONFIG_ERROR')
})

test('the app\'s relations are configured in pairs of qualified names, and a configured schema holds the library', async (t) => {
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-node-'))
  await assert.rejects(ExportClient.connect(url, { storageRoot, conversationsTable: 'public.chats' }),
    (e) => e.code === 'CONFIG_ERROR' && e.message.includes('turns_table'))
  await assert.rejects(ExportClient.connect(url, { storageRoot, conversationsTable: 'chats', turnsTable: 'public.turns' }),
    (e) => e.code === 'CONFIG_ERROR' && e.message.includes('schema-qualified'))
  const client = await ExportClient.connect(url, { storageRoot, schema: 'node_export' })
  t.after(() => client.close())
  assert.deepEqual(await client.migrate({ supabaseStandIns: true }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22])
  assert.equal(sql(url, `SELECT to_regclass('node_export.export_logs') IS NOT NULL, to_regnamespace('lora_export') IS NULL`), 't|t')
})
