// Regression cases: each request here answered 5xx once (issue 12, or found by `npm run fuzz`), and
// must be a 4xx problem+json naming the field to fix. A 5xx the fuzz finds later joins this list.
import t, { type Test } from 'tap'
import { build, type TestContext } from '../helpers/app.js'
import { ACME, ADMIN, ALICE, asUser, inDays, seedDirectory } from '../helpers/fixtures.js'
import { createToken } from '../helpers/tokens.js'

interface Case {
  what: string
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  as?: 'admin' | 'alice' | 'service' | 'none'
  payload?: unknown
  /** A raw body with this content type instead of JSON. */
  form?: string
  status?: number
  code?: string
  path: string
}

async function check(t: Test, ctx: TestContext, c: Case, headers: Record<string, Record<string, string>>) {
  const res = await ctx.app.inject({
    method: c.method ?? 'GET', url: c.url, headers: { ...headers[c.as ?? 'admin'], ...(c.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(c.form !== undefined ? { payload: c.form } : c.payload !== undefined ? { payload: JSON.stringify(c.payload), headers: { ...headers[c.as ?? 'admin'], 'content-type': 'application/json' } } : {}),
  })
  t.equal(res.statusCode, c.status ?? 400, `${c.what}: status (${res.body.slice(0, 200)})`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${c.what}: problem+json`)
  const body = res.json() as { code: string; errors?: { path: string; message: string }[] }
  t.equal(body.code, c.code ?? 'validation_failed', `${c.what}: code`)
  t.ok(body.errors?.some((e) => e.path === c.path), `${c.what}: names ${c.path} (${JSON.stringify(body.errors)})`)
}

async function setUp(t: Test) {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const headers = {
    admin: await asUser(ctx, ADMIN),
    alice: await asUser(ctx, ALICE),
    service: { authorization: `Bearer ${await ctx.jwt.service('idp', ['authorize', 'directory:write', 'tokens:admin'])}` },
    none: {},
  }
  const token = await createToken(ctx, ALICE)
  return { ctx, headers, token }
}

const NUL = 'a\u0000b'
const LONE = 'a\ud800b'

t.test('NUL and unpaired surrogates in any string: 400 naming the field, never a 500', async (t) => {
  const { ctx, headers, token } = await setUp(t)
  const create = { name: 'ci', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] }
  const cases: Case[] = [
    { what: 'token name', method: 'POST', url: '/api/v4/user/personal_access_tokens', as: 'alice', payload: { ...create, name: 'f\u0000uzz' }, path: 'body.name' },
    { what: 'token description', method: 'POST', url: '/api/v4/user/personal_access_tokens', as: 'alice', payload: { ...create, description: LONE }, path: 'body.description' },
    { what: 'edited name', method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, as: 'alice', payload: { name: NUL }, path: 'body.name' },
    { what: 'duplicate name', method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/duplicate`, as: 'alice', payload: { name: LONE }, path: 'body.name' },
    { what: 'permission name in a scope', method: 'POST', url: '/api/v4/user/personal_access_tokens', as: 'alice',
      payload: { ...create, granular_scopes: [{ access: 'user', permissions: ['read_user\u0000'] }] }, path: 'body.granular_scopes[0].permissions[0]' },
    { what: 'template name', method: 'POST', url: '/api/v4/personal_access_token_templates', as: 'alice',
      payload: { name: LONE, granular_scopes: [{ access: 'user', permissions: ['read_user'] }] }, path: 'body.name' },
    { what: 'directory user name', method: 'PUT', url: '/api/v4/directory/users/4', as: 'service', payload: { username: 'carol', name: '  padd\u0000ed  ', email: 'carol@example.com' }, path: 'body.name' },
    { what: 'directory namespace name', method: 'PUT', url: '/api/v4/directory/namespaces/100', as: 'service', payload: { kind: 'group', path: 'acme', name: LONE }, path: 'body.name' },
    { what: 'bulk user name', method: 'POST', url: '/api/v4/directory/bulk', as: 'service',
      payload: { users: [{ id: 9, username: 'nul', name: NUL, email: 'nul@example.com' }] }, path: 'body.users[0].name' },
    { what: 'raw token (admin lookup)', method: 'POST', url: '/api/v4/admin/token', payload: { token: `fgpat-${NUL}` }, path: 'body.token' },
    { what: 'introspection form', method: 'POST', url: '/oauth/introspect', as: 'service', form: 'token=%00', path: 'body.token' },
    { what: 'authorize token', method: 'POST', url: '/api/v4/authorize', as: 'service', payload: { token: NUL, permission: 'read_code', resource: { type: 'project', id: 102 } }, path: 'body.token' },
    { what: 'token search', url: '/api/v4/personal_access_tokens?search=%00', path: 'query.search' },
    { what: 'catalog search (no credentials)', url: '/api/v4/permissions?search=x%00', as: 'none', path: 'query.search' },
    { what: 'audit action filter', url: '/api/v4/audit_events?action=%3D%3AW8yJA2%00&before_id=20', path: 'query.action' },
    { what: 'audit actor filter', url: '/api/v4/audit_events?actor_id=1%00', path: 'query.actor_id' },
    { what: 'inventory permission filter', url: '/api/v4/admin/personal_access_tokens?permission=read_code%00', path: 'query.permission' },
  ]
  for (const c of cases) await check(t, ctx, c, headers)
  const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: headers.alice, payload: { ...create, name: NUL } })
  t.match(res.json(), { errors: [{ path: 'body.name', message: 'must not contain NUL characters or unpaired surrogates' }] }, 'the message says what to fix')
})

t.test('dates that match the pattern but not the calendar, and non-dates in filters: 400', async (t) => {
  const { ctx, headers, token } = await setUp(t)
  const cases: Case[] = []
  for (const bad of ['2026-13-01', '0000-00-00', '0000-01-01', '2027-02-30']) {
    cases.push(
      { what: `create ${bad}`, method: 'POST', url: '/api/v4/user/personal_access_tokens', as: 'alice', payload: { name: 'x', expires_at: bad, granular_scopes: [{ access: 'user', permissions: ['read_user'] }] }, path: 'body.expires_at' },
      { what: `PATCH ${bad}`, method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, as: 'alice', payload: { expires_at: bad }, path: 'body.expires_at' },
      { what: `duplicate ${bad}`, method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/duplicate`, as: 'alice', payload: { expires_at: bad }, path: 'body.expires_at' },
      { what: `rotate ${bad}`, method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, as: 'alice', payload: { expires_at: bad }, path: 'body.expires_at' },
      { what: `membership ${bad}`, method: 'PUT', url: '/api/v4/directory/namespaces/100/members/4', as: 'service', payload: { access_level: 10, expires_at: bad }, path: 'body.expires_at' },
      { what: `group policy ${bad}`, method: 'PUT', url: `/api/v4/groups/${ACME}/personal_access_token_policy`, payload: { enforce_fine_grained_from: bad }, path: 'body.enforce_fine_grained_from' },
      { what: `instance settings ${bad}`, method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', payload: { legacy_tokens_blocked_from: bad }, path: 'body.legacy_tokens_blocked_from' },
      { what: `expires_before ${bad}`, url: `/api/v4/personal_access_tokens?expires_before=${bad}`, path: 'query.expires_before' },
      { what: `inventory expires_before ${bad}`, url: `/api/v4/admin/personal_access_tokens?expires_before=${bad}`, path: 'query.expires_before' },
    )
  }
  for (const [field, value] of [['created_before', 'yesterday'], ['created_after', '6lFwO'], ['last_used_before', '%7Dc7%22u'], ['last_used_after', '1.797693134862314e%2B308'],
    ['created_after', '0000-00-00'], ['created_before', '2026-01-01T25:00:00Z'], ['last_used_after', '%2B275760-09-13T00:00:00Z'], ['created_after', '']] as const) {
    cases.push({ what: `token list ${field}=${value}`, url: `/api/v4/personal_access_tokens?${field}=${value}`, path: `query.${field}` })
  }
  cases.push(
    { what: 'audit created_after', url: '/api/v4/audit_events?created_after=yesterday', path: 'query.created_after' },
    { what: 'audit created_before', url: '/api/v4/audit_events?created_before=2026-02-30T00:00:00Z', path: 'query.created_before' },
    { what: 'group audit created_after', url: `/api/v4/groups/${ACME}/audit_events?created_after=0000-01-01`, path: 'query.created_after' },
    { what: 'inventory last_used_before', url: '/api/v4/admin/personal_access_tokens?last_used_before=soon', path: 'query.last_used_before' },
    { what: 'group inventory last_used_before', url: `/api/v4/groups/${ACME}/manage/personal_access_tokens?last_used_before=2026-13-01`, path: 'query.last_used_before' },
  )
  for (const c of cases) await check(t, ctx, c, headers)
  for (const query of ['created_after=2026-01-31T14:30:00%2B02:00&last_used_before=0001-01-01', 'created_after=0001-01-01T00:00:00%2B14:00',
    'created_before=9999-12-31T23:59:59-14:00', 'last_used_after=2026-01-31 12:00', 'expires_after=9999-12-31&expires_before=0001-01-01']) {
    const fine = await ctx.app.inject({ url: `/api/v4/personal_access_tokens?${query}`, headers: headers.admin })
    t.equal(fine.statusCode, 200, `${query}: real timestamps at the ends of the range still work (${fine.body.slice(0, 200)})`)
  }
})

t.test('pages and cursors out of range: 400; the last allowed page is an empty page', async (t) => {
  const { ctx, headers } = await setUp(t)
  const cases: Case[] = []
  for (const list of ['/api/v4/personal_access_tokens', '/api/v4/admin/personal_access_tokens', `/api/v4/groups/${ACME}/manage/personal_access_tokens`]) {
    for (const page of ['99999999999999999999', '1e309', '100001', '0', '-1', '1.5']) cases.push({ what: `${list} page=${page}`, url: `${list}?page=${page}`, path: 'query.page' })
  }
  for (const id of ['1e309', '99999999999999999999', '0']) {
    cases.push({ what: `audit before_id=${id}`, url: `/api/v4/audit_events?before_id=${id}`, path: 'query.before_id' })
    cases.push({ what: `group audit before_id=${id}`, url: `/api/v4/groups/${ACME}/audit_events?before_id=${id}`, path: 'query.before_id' })
  }
  cases.push(
    { what: 'per_page above 100', url: '/api/v4/personal_access_tokens?per_page=101', path: 'query.per_page' },
    { what: 'id beyond safe integers', url: '/api/v4/personal_access_tokens/99999999999999999999', path: 'params.id' },
  )
  for (const c of cases) await check(t, ctx, c, headers)
  // A literal 1e309 in JSON (Infinity once parsed) is not a number to compare with a maximum.
  const inf = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: { ...headers.alice, 'content-type': 'application/json' }, payload: '{"name":"x","template_id":1e309}' })
  t.equal(inf.statusCode, 400)
  t.ok((inf.json() as { errors: { path: string }[] }).errors.some((e) => e.path === 'body.template_id'), inf.body)
  for (const list of ['/api/v4/personal_access_tokens', '/api/v4/admin/personal_access_tokens', `/api/v4/groups/${ACME}/manage/personal_access_tokens`]) {
    const last = await ctx.app.inject({ url: `${list}?page=100000&per_page=100`, headers: headers.admin })
    t.equal(last.statusCode, 200, `${list}: page 100000 is allowed`)
    t.same(last.json(), [])
  }
})

t.test('/authorize: paths no namespace or user can have are resource_not_found; IPs must be IPs', async (t) => {
  const { ctx, headers, token } = await setUp(t)
  const authorize = (payload: unknown, url = '/api/v4/authorize') => ctx.app.inject({ method: 'POST', url, headers: headers.service, payload: payload as Record<string, unknown> })
  for (const [type, path] of [['project', 'acme/platform/api\u0000'], ['project', 'acme/platform/api\ud800'], ['group', '../acme'], ['group', 'acme/%00'],
    ['project', 'ácme/api'], ['user', 'alice\u0000'], ['user', 'alice/x'], ['user', '\udfff'], ['group', 'a'.repeat(300)]]) {
    const res = await authorize({ token: token.token, permission: type === 'user' ? 'read_user' : 'read_code', resource: { type, path } })
    t.equal(res.statusCode, 200, `${type} ${JSON.stringify(path)}: ${res.body}`)
    t.equal(res.json().reason, 'resource_not_found')
  }
  const batch = await authorize({ token: token.token, checks: [
    { permission: 'read_code', resource: { type: 'project', path: 'acme/platform/api\u0000' } },
    { permission: 'read_code', resource: { type: 'project', path: 'acme/platform/api' } },
  ] }, '/api/v4/authorize/batch')
  t.equal(batch.statusCode, 200, batch.body)
  t.same(batch.json().results.map((r: { reason: string }) => r.reason), ['resource_not_found', 'allowed'])

  const ipCases: Case[] = [
    { what: 'ip with NUL', method: 'POST', url: '/api/v4/authorize', as: 'service', payload: { token: token.token, permission: 'read_code', resource: { type: 'project', id: 102 }, ip: '10.0.0.2\u0000' }, path: 'body.ip' },
    { what: 'ip out of range', method: 'POST', url: '/api/v4/authorize', as: 'service', payload: { token: token.token, permission: 'read_code', resource: { type: 'project', id: 102 }, ip: '999.1.1.1' }, path: 'body.ip' },
    { what: 'a range is not an ip', method: 'POST', url: '/api/v4/authorize', as: 'service', payload: { token: token.token, permission: 'read_code', resource: { type: 'project', id: 102 }, ip: '10.0.0.0/8' }, path: 'body.ip' },
    { what: 'batch ip', method: 'POST', url: '/api/v4/authorize/batch', as: 'service', payload: { token: token.token, ip: '10.0.0.1|x', checks: [{ permission: 'read_code', resource: { type: 'project', id: 102 } }] }, path: 'body.ip' },
    { what: 'batch check ip', method: 'POST', url: '/api/v4/authorize/batch', as: 'service', payload: { token: token.token, checks: [{ permission: 'read_code', resource: { type: 'project', id: 102 }, ip: 'localhost' }] }, path: 'body.checks[0].ip' },
    { what: 'policy range with a zone', method: 'PUT', url: `/api/v4/groups/${ACME}/personal_access_token_policy`, payload: { allowed_ip_ranges: ['fe80::1%eth0/64'] }, path: 'body.allowed_ip_ranges[0]' },
    { what: 'policy range with NUL', method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', payload: { allowed_ip_ranges: ['10.0.0.0/8\u0000'] }, path: 'body.allowed_ip_ranges[0]' },
  ]
  for (const c of ipCases) await check(t, ctx, c, headers)
  for (const ip of ['10.0.0.2', '::1', '2001:db8::1', '::ffff:10.0.0.1']) {
    const res = await authorize({ token: token.token, permission: 'read_code', resource: { type: 'project', id: 102 }, ip })
    t.equal(res.statusCode, 200, `${ip} is an IP`)
  }
  t.notMatch(ctx.logs.text, /unhandled error/, 'nothing reached the error handler as a 5xx')
})

t.test('writers racing past a check-then-write: 409, never the unique index as a 500', async (t) => {
  const { ctx, headers } = await setUp(t)
  const body = { name: 'same', granular_scopes: [{ access: 'user', permissions: ['read_user'] }] }
  const post = () => ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_token_templates', headers: headers.alice, payload: body })
  const created = await Promise.all(Array.from({ length: 8 }, post))
  t.same(created.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409, 409, 409, 409], 'one template, seven conflicts')
  t.ok(created.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'template_name_taken'))
  const ids = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_token_templates', headers: headers.alice, payload: { ...body, name } })).json().id as number))
  const renamed = await Promise.all(ids.map((id) => ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_token_templates/${id}`, headers: headers.alice, payload: { name: 'renamed' } })))
  t.same(renamed.map((r) => r.statusCode).sort(), [200, 409, 409, 409], 'one rename wins')
  t.notMatch(ctx.logs.text, /unhandled error/)
})
