import t from 'tap'
import { build, manualClock } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, CLI_PROJECT, DOTFILES, inDays, PLATFORM, seedDirectory, TERRAFORM, WEBSITE } from '../../helpers/fixtures.js'
import { generateToken } from '../../../src/domain/token-format.js'
import { createToken } from '../../helpers/tokens.js'

const directory = async (ctx: Awaited<ReturnType<typeof build>>, method: 'PUT' | 'DELETE', url: string, payload?: object) =>
  ctx.app.inject({ method, url: `/api/v4/directory${url}`, headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload })

t.test('every reason code through the API', async (t) => {
  const clock = manualClock(new Date())
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE, {
    expires_at: inDays(10),
    granular_scopes: [
      { access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code', 'push_code', 'run_job', 'delete_project'] },
      { access: 'user', permissions: ['read_user'] },
    ],
  })
  const secret = token.token!
  const api = { type: 'project', id: API_PROJECT }

  const allowed = await authorize(secret, 'push_code', api)
  t.match(allowed, { allowed: true, reason: 'allowed', token: { id: token.id, user_id: ALICE, kind: 'fine_grained', expires_at: inDays(10) } })
  t.same(allowed.scope, [{ access: 'selected_memberships', namespace_id: PLATFORM }])
  t.equal((await authorize(secret, ['play_job', 'retry_job'], { type: 'project', path: 'ACME/platform/infra/terraform' })).allowed, true, 'by path, case-insensitive, below the group')
  t.equal((await authorize(secret, 'read_user', { type: 'user', id: ALICE })).allowed, true)
  t.equal((await authorize(secret, 'read_user', { type: 'user', path: 'alice' })).allowed, true)

  t.equal((await authorize('not-a-token', 'read_code', api)).reason, 'malformed_token')
  t.equal((await authorize(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, 'read_code', api)).reason, 'malformed_token', 'checksum')
  t.equal((await authorize(generateToken('fgpat-'), 'read_code', api)).reason, 'token_not_found', 'well-formed but never issued')
  t.equal((await authorize(secret, 'read_code', { type: 'project', id: 999 })).reason, 'resource_not_found')
  t.equal((await authorize(secret, 'read_code', { type: 'group', id: API_PROJECT })).reason, 'resource_not_found', 'type must match the namespace kind')
  t.equal((await authorize(secret, 'read_code', { type: 'project', path: 'acme/nope' })).reason, 'resource_not_found')
  t.equal((await authorize(secret, 'read_user', { type: 'user', id: 999 })).reason, 'resource_not_found')
  t.equal((await authorize(secret, 'read_code', { type: 'project', id: WEBSITE })).reason, 'resource_not_in_scope')
  t.equal((await authorize(secret, 'read_code', { type: 'group', id: ACME })).reason, 'resource_not_in_scope', 'a subgroup scope does not cover its parent')
  t.equal((await authorize(secret, 'read_user', { type: 'user', id: ADMIN })).reason, 'resource_not_in_scope')
  const notGranted = await authorize(secret, ['read_code', 'create_merge_request'], api)
  t.match(notGranted, { allowed: false, reason: 'permission_not_granted', missing: ['Merge request: Create'] })
  const role = await authorize(secret, 'delete_project', { type: 'project', id: TERRAFORM })
  t.match(role, { allowed: false, reason: 'insufficient_role' }, 'alice is a developer on terraform; deleting needs owner')

  await directory(ctx, 'PUT', `/users/${ALICE}`, { username: 'alice', name: 'Alice', email: 'alice@example.com', state: 'blocked' })
  t.equal((await authorize(secret, 'read_code', api)).reason, 'user_inactive')
  await directory(ctx, 'PUT', `/users/${ALICE}`, { username: 'alice', name: 'Alice', email: 'alice@example.com' })
  t.equal((await authorize(secret, 'read_code', api)).allowed, true, 'unblocked again')

  clock.advanceDays(10)
  t.equal((await authorize(secret, 'read_code', api)).reason, 'token_expired')
  clock.advanceDays(-10)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.equal((await authorize(secret, 'read_code', api)).reason, 'token_revoked')
})

t.test('legacy tokens, public read, personal projects, instance permissions', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const legacy = (await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })).token!
  t.equal((await authorize(legacy, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)
  t.equal((await authorize(legacy, 'push_code', { type: 'project', id: API_PROJECT })).reason, 'permission_not_granted')
  t.equal((await authorize(legacy, 'read_code', { type: 'project', id: CLI_PROJECT })).allowed, true, 'public project')
  const personal = (await createToken(ctx, ALICE, { granular_scopes: [{ access: 'personal_projects', permissions: ['push_code'] }] })).token!
  t.equal((await authorize(personal, 'push_code', { type: 'project', id: DOTFILES })).allowed, true)
  t.equal((await authorize(personal, 'push_code', { type: 'project', id: API_PROJECT })).reason, 'resource_not_in_scope')
  const admin = (await createToken(ctx, ADMIN, { granular_scopes: [{ access: 'instance', permissions: ['read_audit_events'] }] })).token!
  t.equal((await authorize(admin, 'read_audit_events', { type: 'instance' })).allowed, true)
})

t.test('bad requests are 4xx, not denials', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = (await createToken(ctx, ALICE)).token!
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const post = (payload: object) => ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload })
  const cases: [object, string, string][] = [
    [{ token, permission: 'read_cod', resource: { type: 'project', id: 1 } }, 'invalid_permission', 'body.permission'],
    [{ token, permissions: ['read_code', 'read_user'], resource: { type: 'project', id: 1 } }, 'invalid_permission', 'body.permissions[1]'],
    [{ token, resource: { type: 'project', id: 1 } }, 'validation_failed', 'body'],
    [{ token, permission: 'read_code', permissions: ['read_code'], resource: { type: 'project', id: 1 } }, 'validation_failed', 'body'],
    [{ token, permission: 'read_code', resource: { type: 'project' } }, 'validation_failed', 'body.resource'],
    [{ token, permission: 'read_code', resource: { type: 'project', id: 1, path: 'a' } }, 'validation_failed', 'body.resource'],
    [{ token, permission: 'read_code', resource: { type: 'planet', id: 1 } }, 'validation_failed', 'body.resource.type'],
    [{ permission: 'read_code', resource: { type: 'project', id: 1 } }, 'validation_failed', 'body.token'],
  ]
  for (const [payload, code, path] of cases) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, code)
    t.ok(res.json().errors.some((e: { path: string }) => e.path === path), `names ${path}: ${JSON.stringify(res.json().errors)}`)
  }
  // The resource is looked up alongside the token, but a bad reference only counts once the token
  // and its owner are known: an unknown token is still just token_not_found.
  const unknown = await post({ token: generateToken('fgpat-'), permission: 'read_code', resource: { type: 'project', id: 1, path: 'a' } })
  t.equal(unknown.statusCode, 200)
  t.equal(unknown.json().reason, 'token_not_found')
  const noScope = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['directory:write'])}` }, payload: { token, permission: 'read_code', resource: { type: 'project', id: 1 } } })
  t.equal(noScope.statusCode, 403)
  const asPat = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: { 'private-token': token }, payload: { token, permission: 'read_code', resource: { type: 'project', id: 1 } } })
  t.equal(asPat.statusCode, 403)
})

t.test('batch and introspection', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { name: 'intro' })
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const batch = await ctx.app.inject({
    method: 'POST', url: '/api/v4/authorize/batch', headers,
    payload: { token: token.token, checks: [
      { permission: 'read_code', resource: { type: 'project', id: API_PROJECT } },
      { permission: 'read_code', resource: { type: 'project', id: WEBSITE } },
      { permissions: ['read_code', 'push_code'], resource: { type: 'project', path: 'acme/platform/api' } },
    ] },
  })
  t.equal(batch.statusCode, 200)
  t.same(batch.json().results.map((r: { reason: string }) => r.reason), ['allowed', 'resource_not_in_scope', 'permission_not_granted'])
  const tooMany = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize/batch', headers, payload: { token: token.token, checks: Array.from({ length: 101 }, () => ({ permission: 'read_code', resource: { type: 'project', id: 1 } })) } })
  t.equal(tooMany.statusCode, 400)

  const form = await ctx.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${token.token}&token_type_hint=access_token` })
  t.equal(form.statusCode, 200)
  t.match(form.json(), { active: true, scope: 'read_code', username: 'alice', sub: String(ALICE), token_type: 'fine_grained_personal_access_token' })
  t.ok(form.json().exp > Date.now() / 1000)
  const json = await ctx.app.inject({ method: 'POST', url: '/oauth/introspect', headers, payload: { token: token.token } })
  t.equal(json.json().active, true)
  for (const bad of ['garbage', `${token.token!.slice(0, -2)}xx`]) {
    const res = await ctx.app.inject({ method: 'POST', url: '/oauth/introspect', headers, payload: { token: bad } })
    t.same(res.json(), { active: false }, 'nothing but active:false')
  }
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.same((await ctx.app.inject({ method: 'POST', url: '/oauth/introspect', headers, payload: { token: token.token } })).json(), { active: false })
  const unauth = await ctx.app.inject({ method: 'POST', url: '/oauth/introspect', payload: { token: token.token } })
  t.equal(unauth.statusCode, 401)
})

t.test('usage is aggregated and flushed, and shown on the token', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE)
  for (let i = 0; i < 5; i++) await authorize(token.token!, 'read_code', { type: 'project', id: API_PROJECT }, { ip: `10.0.0.${i % 3}` })
  await authorize(token.token!, 'read_code', { type: 'project', id: WEBSITE }, { ip: '10.0.0.9' })
  t.equal((await ctx.app.db.selectFrom('token_usage_daily').selectAll().execute()).length, 0, 'nothing written per request')
  await ctx.app.usage.flush()
  const rows = await ctx.app.db.selectFrom('token_usage_daily').selectAll().orderBy('namespace_id').execute()
  t.match(rows, [{ namespace_id: API_PROJECT, permission: 'read_code', allowed: 5, denied: 0 }, { namespace_id: WEBSITE, allowed: 0, denied: 1 }])
  const shown = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })).json()
  t.same(shown.last_used_ips, ['10.0.0.9', '10.0.0.1', '10.0.0.0', '10.0.0.2'])
  t.same(shown.usage.permissions, [{ permission: 'read_code', allowed: 5, denied: 1, last_day: new Date().toISOString().slice(0, 10) }], 'per-permission use on the detail view')
  t.ok(shown.last_used_at)
  await authorize(token.token!, 'read_code', { type: 'project', id: API_PROJECT })
  await ctx.app.usage.flush()
  const again = await ctx.app.db.selectFrom('token_usage_daily').select('allowed').where('namespace_id', '=', API_PROJECT).executeTakeFirstOrThrow()
  t.equal(again.allowed, 6, 'additive upserts')
  const metrics = await ctx.app.inject({ url: '/metrics' })
  t.match(metrics.body, /fgpat_decisions_total\{reason="allowed"\} \d+/)
  t.match(metrics.body, /fgpat_cache_lookups_total\{kind="tok",tier="l1"\} \d+/)
  t.match(metrics.body, /fgpat_decision_duration_seconds_bucket/)
})
