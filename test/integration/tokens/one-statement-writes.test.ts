// A creation that opens no approval request, and a revocation, each write in one statement
// (migration 0024's functions) instead of a transaction of several round trips, and a rotation's
// transaction writes in one; what they write is what the transactions wrote: the token, its scopes
// in order, the audit event with its details.
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import * as repo from '../../../src/modules/tokens/repository.js'
import { build } from '../../helpers/app.js'
import { ALICE, API_PROJECT, asUser, CLI_PROJECT, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { recordingAppDb, transactionStatements, writingStatements } from '../../helpers/statements.js'
import { createToken } from '../../helpers/tokens.js'

const writes = (statements: string[]) => writingStatements(statements, ['fgpat_create_token', 'fgpat_revoke_token', 'fgpat_rotate_token'])

t.test('a creation writes its token, scopes and audit event in one statement', async (t) => {
  const recording = recordingAppDb()
  const ctx = await build(t, { db: recording.make })
  await seedDirectory(ctx)
  recording.statements.length = 0

  const res = await ctx.app.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await asUser(ctx, ALICE),
    payload: {
      name: 'one statement', description: 'made whole', expires_at: inDays(30),
      granular_scopes: [
        { access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] },
        { access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code'] },
        { access: 'user', permissions: ['read_user'] },
      ],
    },
  })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json() as { id: number; token: string; token_hint: string }
  const statements = [...recording.statements]
  t.same(transactionStatements(statements), [], 'no transaction around it')
  t.equal(writes(statements).length, 1, 'one writing statement')
  t.match(writes(statements)[0], /fgpat_create_token\(/, 'the creation function')

  const db = ctx.app.db
  const row = await db.selectFrom('personal_access_tokens').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
  t.match(row, { user_id: ALICE, name: 'one statement', description: 'made whole', kind: 'fine_grained', expires_at: inDays(30), created_by: `user:${ALICE}`, token_hint: body.token_hint, family_id: body.id, revoked_at: null })
  const scopes = await db.selectFrom('personal_access_token_scopes').select(['access', 'namespace_id', 'permissions']).where('token_id', '=', body.id).orderBy('id').execute()
  t.same(scopes, [
    { access: 'selected_memberships', namespace_id: API_PROJECT, permissions: ['push_code', 'read_code'] }, // as validation orders them
    { access: 'selected_memberships', namespace_id: CLI_PROJECT, permissions: ['read_code'] },
    { access: 'user', namespace_id: null, permissions: ['read_user'] },
  ], 'the scopes, in the order given')
  t.same(row.permissions, ['push_code', 'read_code', 'read_user'], "the scopes' trigger ran (distinct permissions)")
  const events = await db.selectFrom('audit_events').selectAll().where('target_type', '=', 'personal_access_token').where('target_id', '=', String(body.id)).execute()
  t.equal(events.length, 1)
  t.match(events[0], { action: 'token.created', actor_type: 'user', actor_id: String(ALICE), ip: '127.0.0.1', request_id: String })
  t.same(events[0].details, { user_id: ALICE, name: 'one statement', token_hint: body.token_hint, kind: 'fine_grained', expires_at: inDays(30) }, "the event's details")
  const tags = await db.selectFrom('audit_event_groups').select('group_id').where('event_id', '=', events[0].id).execute()
  t.ok(tags.length > 0, "the audit event's group tags (a trigger that reads the scopes) were written")
  t.notMatch(JSON.stringify(events[0]), body.token, 'no secret in the event')
})

t.test('the creation statement is atomic: a refused audit event leaves no token behind', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const digest = randomBytes(32)
  const columns = {
    user_id: ALICE, name: 'half', description: null, kind: 'fine_grained' as const, scopes: [], token_digest: digest,
    token_hint: 'fgpat-half', expires_at: null, created_by: `user:${ALICE}`, template_id: null,
  }
  // audit_events.actor_type is NOT NULL: the event's insert fails after the token's and the scope's.
  await t.rejects(repo.createToken(ctx.app.db, columns, [{ access: 'user', namespace_id: null, permissions: ['read_user'] }], {
    actor: { type: null as unknown as string, id: '1' }, ip: null, requestId: null,
  }, {}))
  const left = await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('token_digest', '=', digest).execute()
  t.same(left, [], 'no token row')
  const scopes = await sql<{ n: number }>`select count(*)::int as n from personal_access_token_scopes s left join personal_access_tokens p on p.id = s.token_id where p.id is null`.execute(ctx.app.db)
  t.equal(scopes.rows[0].n, 0, 'no orphan scope')
})

t.test('a revocation writes the revoked row and its audit event in one statement; twice is a no-op', async (t) => {
  const recording = recordingAppDb()
  const ctx = await build(t, { db: recording.make })
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { name: 'to revoke' })
  recording.statements.length = 0

  const res = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.equal(res.statusCode, 204, res.body)
  const statements = [...recording.statements]
  t.same(transactionStatements(statements), [], 'no transaction around it')
  t.equal(writes(statements).length, 1, 'one writing statement')
  t.match(writes(statements)[0], /fgpat_revoke_token\(/, 'the revocation function')

  const db = ctx.app.db
  const row = await db.selectFrom('personal_access_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow()
  t.match(row, { revoked_by: `user:${ALICE}`, revoke_reason: 'owner', version: 2 })
  t.ok(row.revoked_at, 'revoked')
  const events = () => db.selectFrom('audit_events').selectAll().where('action', '=', 'token.revoked').where('target_id', '=', String(token.id)).execute()
  const [event] = await events()
  t.match(event, { actor_type: 'user', actor_id: String(ALICE), namespace_id: null, ip: '127.0.0.1' })
  t.same(event.details, { user_id: ALICE, name: 'to revoke', token_hint: token.token_hint, kind: 'fine_grained', expires_at: inDays(30), revoke_reason: 'owner' }, "the event's details: the row's, and why")

  const again = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.equal(again.statusCode, 204, 'revoking again answers as before')
  t.equal((await events()).length, 1, 'and writes nothing')
  const after = await db.selectFrom('personal_access_tokens').select(['revoked_at', 'version']).where('id', '=', token.id).executeTakeFirstOrThrow()
  t.same(after, { revoked_at: row.revoked_at, version: 2 }, 'the row is left as the first revocation wrote it')
})

t.test('concurrent revocations of one token: one revokes it, one audit event', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { name: 'raced' })
  const revocation = { revoked_at: new Date(), revoked_by: `user:${ALICE}`, revoke_reason: 'owner' }
  const by = { actor: { type: 'user', id: String(ALICE) }, ip: null, requestId: null }
  const results = await Promise.all(Array.from({ length: 6 }, () => repo.revokeToken(ctx.app.db, token.id, revocation, by, { revoke_reason: 'owner' })))
  t.equal(results.filter((r) => r !== undefined).length, 1, 'one call revoked it, the others found it revoked')
  const events = await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.revoked').where('target_id', '=', String(token.id)).execute()
  t.equal(events.length, 1, 'one audit event')
})

t.test("a rotation's transaction: its locks in one statement, its writes in one", async (t) => {
  const recording = recordingAppDb()
  const ctx = await build(t, { db: recording.make })
  await seedDirectory(ctx)
  const first = await createToken(ctx, ALICE, { name: 'rotated twice' })
  const rotate = async (id: number) => {
    const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${id}/rotate`, headers: await asUser(ctx, ALICE), payload: {} })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as { id: number; token: string; token_hint: string; expires_at: string }
  }
  const second = await rotate(first.id)
  recording.statements.length = 0
  const third = await rotate(second.id) // a successor: its family's root is another row

  const statements = [...recording.statements]
  t.equal(writes(statements).length, 1, 'one writing statement')
  t.match(writes(statements)[0], /fgpat_rotate_token\(/, 'the rotation function')
  const locks = statements.filter((s) => /for update/i.test(s))
  t.equal(locks.length, 1, 'one locking statement')
  t.match(locks[0], /"id" in \(\$1, \$2\)[\s\S]*order by "id"/, 'the family root and the token, in id order')

  const db = ctx.app.db
  const rows = await db.selectFrom('personal_access_tokens').selectAll().where('id', 'in', [second.id, third.id]).orderBy('id').execute()
  t.match(rows[0], { id: second.id, revoke_reason: 'rotated', revoked_by: `user:${ALICE}`, version: 2 })
  t.ok(rows[0].revoked_at, 'the old token is revoked')
  t.match(rows[1], { id: third.id, previous_personal_access_token_id: second.id, family_id: first.id, name: 'rotated twice', revoked_at: null, token_hint: third.token_hint })
  const scopes = await db.selectFrom('personal_access_token_scopes').select(['access', 'namespace_id', 'permissions']).where('token_id', '=', third.id).execute()
  t.same(scopes, [{ access: 'selected_memberships', namespace_id: API_PROJECT, permissions: ['read_code'] }], "the old token's scopes")
  const [event] = await db.selectFrom('audit_events').selectAll().where('action', '=', 'token.rotated').where('target_id', '=', String(third.id)).execute()
  t.same(event.details, {
    user_id: ALICE, name: 'rotated twice', token_hint: third.token_hint, kind: 'fine_grained', expires_at: third.expires_at,
    previous_personal_access_token_id: second.id, previous_token_hint: second.token_hint,
  }, "the event's details")
})
