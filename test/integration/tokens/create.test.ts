import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, ALICE_NS, API_PROJECT, asUser, BOB, CAROL, DOTFILES, inDays, OPENSOURCE, seedDirectory, WEBSITE } from '../../helpers/fixtures.js'
import { readCodeOn, type TokenJson } from '../../helpers/tokens.js'

async function post(ctx: TestContext, userId: number, payload: Record<string, unknown>, url = '/api/v4/user/personal_access_tokens') {
  return ctx.app.inject({ method: 'POST', url, headers: await asUser(ctx, userId), payload })
}

const valid = () => ({ name: 'ci', expires_at: inDays(30), granular_scopes: readCodeOn([API_PROJECT]) })

t.test('create a fine-grained token for yourself', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const res = await post(ctx, ALICE, {
    name: 'deploy bot', description: 'pushes tags', expires_at: inDays(90),
    granular_scopes: [
      { access: 'selected_memberships', group_ids: [ACME], project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] },
      { access: 'personal_projects', permissions: ['read_code'] },
      { access: 'user', permissions: ['read_user'] },
    ],
  })
  t.equal(res.statusCode, 201)
  const body = res.json() as TokenJson
  t.match(body.token, /^fgpat-[0-9A-Za-z]{49}$/)
  t.equal(body.token_hint, body.token!.slice(0, 10))
  t.match(body, { name: 'deploy bot', description: 'pushes tags', kind: 'fine_grained', state: 'active', active: true, revoked: false, user_id: ALICE, expires_at: inDays(90), scopes: [] })
  t.equal(body.granular, true)
  t.same(body.granular_scopes, [
    { access: 'selected_memberships', permissions: ['push_code', 'read_code'], project_id: null, group_id: ACME },
    { access: 'selected_memberships', permissions: ['push_code', 'read_code'], project_id: API_PROJECT, group_id: null },
    { access: 'personal_projects', permissions: ['read_code'], project_id: null, group_id: null },
    { access: 'user', permissions: ['read_user'], project_id: null, group_id: null },
  ], 'one entry per target, as GitLab returns them')
  const row = await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
  t.equal(row.token_digest.length, 32, 'only a 32-byte digest is stored')
  t.equal(row.family_id, body.id)
  const audit = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.created').execute()
  t.equal(audit.length, 1)
  t.match(audit[0], { actor_type: 'user', actor_id: String(ALICE), target_id: String(body.id) })
  t.notOk(JSON.stringify(audit[0].details).includes(body.token!), 'audit details never hold the secret')

  const show = await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${body.id}`, headers: await asUser(ctx, ALICE) })
  t.equal(show.statusCode, 200)
  t.notOk('token' in show.json(), 'the secret is shown only once')
})

t.test('legacy token with api carries a warning; admin creates for a user', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const legacy = await post(ctx, ALICE, { name: 'old', expires_at: inDays(10), scopes: ['api'] })
  t.equal(legacy.statusCode, 201)
  t.match(legacy.json(), { kind: 'legacy', granular: false, scopes: ['api'], granular_scopes: [] })
  t.match(legacy.json().token, /^lgpat-/)
  t.match(legacy.json().warnings[0], /full read and write access/)

  const forBob = await post(ctx, ADMIN, { ...valid(), granular_scopes: readCodeOn([WEBSITE]) }, `/api/v4/users/${BOB}/personal_access_tokens`)
  t.equal(forBob.statusCode, 400, 'bob has no membership on the website project (the owner is checked, not the admin)')
  t.equal(forBob.json().code, 'no_membership')
  const ok = await post(ctx, ADMIN, { ...valid(), granular_scopes: readCodeOn([201]) }, `/api/v4/users/${BOB}/personal_access_tokens`)
  t.equal(ok.statusCode, 201)
  t.equal(ok.json().user_id, BOB)

  const service = await ctx.app.inject({
    method: 'POST', url: `/api/v4/users/${ALICE}/personal_access_tokens`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('provisioner', ['tokens:admin'])}` }, payload: valid(),
  })
  t.equal(service.statusCode, 201, 'a tokens:admin service may create for a user')
  t.equal(service.json().user_id, ALICE)

  const notAdmin = await post(ctx, ALICE, valid(), `/api/v4/users/${BOB}/personal_access_tokens`)
  t.equal(notAdmin.statusCode, 404, 'a non-admin cannot even learn the user exists')
  const unknownUser = await post(ctx, ADMIN, valid(), '/api/v4/users/999/personal_access_tokens')
  t.equal(unknownUser.statusCode, 404)

  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/users/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'carol', name: 'Carol', email: 'carol@example.com', state: 'blocked' },
  })
  const blocked = await post(ctx, ADMIN, { ...valid(), granular_scopes: [{ access: 'user', permissions: ['read_user'] }] }, `/api/v4/users/${CAROL}/personal_access_tokens`)
  t.equal(blocked.statusCode, 400)
  t.equal(blocked.json().code, 'user_inactive')
})

t.test('every validation error is a 400 naming the field', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['missing name', { name: undefined }, 'validation_failed', 'body.name'],
    ['empty name', { name: '' }, 'validation_failed', 'body.name'],
    ['blank name', { name: '   ' }, 'validation_failed', 'body.name'],
    ['long name', { name: 'x'.repeat(256) }, 'validation_failed', 'body.name'],
    ['null expiry', { expires_at: null }, 'expiry_required', 'body.expires_at'],
    ['expiry today', { expires_at: inDays(0) }, 'expiry_in_past', 'body.expires_at'],
    ['expiry in the past', { expires_at: inDays(-3) }, 'expiry_in_past', 'body.expires_at'],
    ['expiry beyond a year', { expires_at: inDays(366) }, 'expiry_beyond_max_lifetime', 'body.expires_at'],
    // The schema's calendar `date` format answers these now (it used to be the service: invalid_date).
    ['not a date', { expires_at: '2026-02-30' }, 'validation_failed', 'body.expires_at'],
    ['no month 13', { expires_at: '2026-13-01' }, 'validation_failed', 'body.expires_at'],
    ['no year 0', { expires_at: '0000-00-00' }, 'validation_failed', 'body.expires_at'],
    ['no scopes at all', { granular_scopes: undefined }, 'empty_scopes', 'body.granular_scopes'],
    ['empty granular scopes', { granular_scopes: [] }, 'empty_scopes', 'body.granular_scopes'],
    ['empty permissions', { granular_scopes: [{ access: 'user', permissions: [] }] }, 'empty_scopes', 'body.granular_scopes[0].permissions'],
    ['empty legacy scopes', { granular_scopes: undefined, scopes: [] }, 'empty_scopes', 'body.scopes'],
    ['both kinds', { scopes: ['read_api'] }, 'scopes_conflict', 'body.scopes'],
    ['unknown legacy scope', { granular_scopes: undefined, scopes: ['sud'] }, 'unknown_scope', 'body.scopes[0]'],
    ['an admin scope for a non-admin', { granular_scopes: undefined, scopes: ['read_api', 'sudo'] }, 'scope_requires_admin', 'body.scopes[1]'],
    ['unknown permission', { granular_scopes: [{ access: 'user', permissions: ['read_cod'] }] }, 'unknown_permission', 'body.granular_scopes[0].permissions[0]'],
    ['permission not grantable there', { granular_scopes: [{ access: 'user', permissions: ['push_code'] }] }, 'permission_not_grantable', 'body.granular_scopes[0].permissions[0]'],
    ['group-only permission on a project', { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['create_subgroup'] }] }, 'permission_not_grantable', 'body.granular_scopes[0].permissions[0]'],
    ['selected without ids', { granular_scopes: [{ access: 'selected_memberships', permissions: ['read_code'] }] }, 'missing_resources', 'body.granular_scopes[0]'],
    ['ids on all_memberships', { granular_scopes: [{ access: 'all_memberships', group_ids: [ACME], permissions: ['read_code'] }] }, 'unexpected_resources', 'body.granular_scopes[0]'],
    ['unknown group', { granular_scopes: [{ access: 'selected_memberships', group_ids: [4242], permissions: ['read_code'] }] }, 'namespace_not_found', 'body.granular_scopes[0].group_ids[0]'],
    ['project given as group', { granular_scopes: [{ access: 'selected_memberships', group_ids: [API_PROJECT], permissions: ['read_code'] }] }, 'namespace_kind_mismatch', 'body.granular_scopes[0].group_ids[0]'],
    ['personal namespace as group', { granular_scopes: [{ access: 'selected_memberships', group_ids: [ALICE_NS], permissions: ['read_code'] }] }, 'namespace_kind_mismatch', 'body.granular_scopes[0].group_ids[0]'],
    ['no membership', { granular_scopes: [{ access: 'selected_memberships', project_ids: [300 + 10], permissions: ['read_code'] }] }, 'namespace_kind_mismatch', 'body.granular_scopes[0].project_ids[0]'],
    ['instance scope for a non-admin', { granular_scopes: [{ access: 'instance', permissions: ['read_audit_events'] }] }, 'instance_requires_admin', 'body.granular_scopes[0].access'],
    ['bad access kind', { granular_scopes: [{ access: 'everything', permissions: ['read_code'] }] }, 'validation_failed', 'body.granular_scopes.0.access'],
    ['unknown field', { colour: 'blue' }, 'validation_failed', 'body.colour'],
  ]
  for (const [label, override, code, path] of cases) {
    const payload: Record<string, unknown> = { ...valid(), ...override }
    for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k]
    const res = await post(ctx, ALICE, payload)
    t.equal(res.statusCode, 400, `${label}: status`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${label}: problem+json`)
    const body = res.json()
    t.equal(body.code, code, `${label}: code`)
    t.ok(
      (body.errors as { path: string }[] | undefined)?.some((e) => e.path === path || e.path.replace(/\[(\d+)\]/g, '.$1') === path.replace(/\[(\d+)\]/g, '.$1')),
      `${label}: names ${path} (got ${JSON.stringify(body.errors)})`,
    )
  }
  const carolNoMembership = await post(ctx, CAROL, { ...valid(), granular_scopes: readCodeOn([WEBSITE]) })
  t.equal(carolNoMembership.json().code, 'no_membership', 'a public project still needs a membership to be selected')
  const count = await ctx.app.db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0, 'nothing was written by any rejected request')
})

t.test('personal projects and memberships through ancestors are accepted; role warnings', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const res = await post(ctx, ALICE, {
    ...valid(),
    granular_scopes: [
      { access: 'selected_memberships', project_ids: [DOTFILES], group_ids: [OPENSOURCE], permissions: ['read_code', 'push_code'] },
    ],
  })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json().warnings.join('\n'), /Code: Push needs Developer on opensource, where the owner is Reporter/i)
})

t.test('requests without a valid caller are refused', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const none = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', payload: valid() })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'unauthorized')
  const garbage = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: { authorization: 'Bearer a.b.c' }, payload: valid() })
  t.equal(garbage.statusCode, 401)
  const unknownUser = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await asUser(ctx, 999), payload: valid() })
  t.equal(unknownUser.statusCode, 401)
  const service = await ctx.app.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens',
    headers: { authorization: `Bearer ${await ctx.jwt.service('x', ['tokens:admin'])}` }, payload: valid(),
  })
  t.equal(service.statusCode, 400, 'a service has no "self" to create a token for')
  t.equal(service.json().code, 'user_required')
})
