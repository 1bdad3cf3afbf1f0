// Duplicate with changes: the seed's pre-filled generate form. The copy's scopes can be replaced,
// validated as on creation and under the same policy; a legacy token duplicated with
// granular_scopes becomes a fine-grained token (the original keeps working).
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'
import { authorizer } from '../../helpers/authorize.js'

t.test('granular_scopes replace the copy\'s scopes; name, description and expiry too', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const original = await createToken(ctx, ALICE, { name: 'ci', description: 'nightly', expires_at: inDays(60), granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code', 'push_code'] }] })
  const res = await ctx.app.inject({
    method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, ALICE),
    payload: { name: 'ci read-only', expires_at: inDays(10), granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] },
  })
  t.equal(res.statusCode, 201, res.body)
  const copy = res.json() as TokenJson
  t.match(copy, { name: 'ci read-only', description: 'nightly', expires_at: inDays(10), kind: 'fine_grained', duplicated_from_id: original.id, state: 'active' })
  const stored = await ctx.app.db.selectFrom('personal_access_token_scopes').select(['access', 'namespace_id', 'permissions']).where('token_id', '=', copy.id).execute()
  t.same(stored, [{ access: 'selected_memberships', namespace_id: API_PROJECT, permissions: ['read_code'] }], 'the copy holds only what was asked')
  const authorize = await authorizer(ctx)
  t.equal((await authorize(copy.token!, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)
  t.equal((await authorize(copy.token!, 'push_code', { type: 'project', id: API_PROJECT })).reason, 'permission_not_granted', 'the original\'s push_code is not copied')
  t.equal((await authorize(original.token!, 'push_code', { type: 'project', id: API_PROJECT })).allowed, true, 'the original is unchanged')
  const event = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.created').where('target_id', '=', String(copy.id)).executeTakeFirstOrThrow()
  t.match(event.details, { duplicated_from_id: original.id, scopes_changed: true })
})

t.test('a legacy token duplicated with granular_scopes is the path to fine-grained', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const legacy = await createToken(ctx, ALICE, { name: 'old script', scopes: ['api'], granular_scopes: undefined })
  const res = await ctx.app.inject({
    method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/duplicate`, headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] },
  })
  t.equal(res.statusCode, 201, res.body)
  const fine = res.json() as TokenJson
  t.match(fine, { kind: 'fine_grained', name: 'old script (copy)', scopes: [], duplicated_from_id: legacy.id })
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(legacy.token!) })).statusCode, 200, 'the legacy original keeps working until revoked')
  const event = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.created').where('target_id', '=', String(fine.id)).executeTakeFirstOrThrow()
  t.match(event.details, { converted_from_legacy: true, kind: 'fine_grained' })

  // Without changes a legacy token duplicates as legacy, as before.
  const plain = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/duplicate`, headers: await asUser(ctx, ALICE) })
  t.match(plain.json(), { kind: 'legacy', scopes: ['api'] })
})

t.test('changes are validated as on creation, under the same policy and caller limits', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const original = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code'] }] })
  const url = `/api/v4/personal_access_tokens/${original.id}/duplicate`
  const cases: [Record<string, unknown>, string][] = [
    [{ granular_scopes: [] }, 'empty_scopes'],
    [{ granular_scopes: [{ access: 'selected_memberships', project_ids: [9999], permissions: ['read_code'] }] }, 'namespace_not_found'],
    [{ granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_kode'] }] }, 'unknown_permission'],
    [{ granular_scopes: [{ access: 'instance', permissions: ['read_audit_events'] }] }, 'instance_requires_admin'],
    [{ scopes: ['api'], granular_scopes: [{ access: 'user', permissions: ['read_user'] }] }, 'scopes_conflict'],
    [{ scopes: ['apii'] }, 'unknown_scope'],
    [{ granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code'] }], expires_at: inDays(500) }, 'expiry_beyond_max_lifetime'],
    [{ granular_scopes: [{ access: 'user', permissions: ['read_user'] }], template_id: 1 }, 'validation_failed'],
  ]
  for (const [payload, code] of cases) {
    const bad = await ctx.app.inject({ method: 'POST', url, headers: await asUser(ctx, ALICE), payload })
    t.equal(bad.statusCode, 400, `${JSON.stringify(payload)} → 400`)
    t.equal(bad.json().code, code, `${JSON.stringify(payload)} → ${code}`)
  }

  // A group that blocks a permission refuses a copy that would hold it there.
  const policy = await ctx.app.inject({ method: 'PUT', url: `/api/v4/groups/${OPENSOURCE}/personal_access_token_policy`, headers: await asUser(ctx, ADMIN), payload: { blocked_permissions: ['read_code'] } })
  t.equal(policy.statusCode, 200, policy.body)
  const blocked = await ctx.app.inject({ method: 'POST', url, headers: await asUser(ctx, ALICE), payload: { granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code'] }] } })
  t.equal(blocked.json().code, 'policy_violation')

  // A token duplicating with a token: never broader than the caller.
  const manager = await createToken(ctx, ALICE, { granular_scopes: [
    { access: 'user', permissions: ['create_personal_access_token', 'read_personal_access_token'] },
    { access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code'] },
  ] })
  const broader = await ctx.app.inject({ method: 'POST', url, headers: patHeader(manager.token!), payload: { granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['push_code'] }] } })
  t.equal(broader.statusCode, 403)
  t.equal(broader.json().code, 'broader_than_caller')
  const within = await ctx.app.inject({ method: 'POST', url, headers: patHeader(manager.token!), payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] } })
  t.equal(within.statusCode, 201, within.body)

  t.equal((await ctx.app.inject({ method: 'POST', url, headers: await asUser(ctx, BOB), payload: { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] } })).statusCode, 404, 'someone else\'s token: 404')
  const tokens = await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('duplicated_from_id', '=', original.id).execute()
  t.equal(tokens.length, 1, 'nothing was created by a refused request')
})
