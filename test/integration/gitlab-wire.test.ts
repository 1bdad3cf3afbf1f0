// GitLab's wire, as GitLab's clients and docs use it (README, "GitLab compatibility"): JSON answers
// typed exactly `application/json`; parameters from the query string, a form or JSON; unknown query
// parameters ignored on reads, every parameter of a write checked.
import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { build, type TestContext } from '../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, inDays, seedDirectory } from '../helpers/fixtures.js'
import { createToken, type TokenJson } from '../helpers/tokens.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

interface Problem {
  code: string
  detail: string
  errors?: { path: string; message: string }[]
}

/** A raw HTTP exchange: the headers exactly as they went over the wire. */
function raw(base: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; contentType: string | undefined; body: string }>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function setUp(t: Test) {
  const ctx = await build(t)
  await seedDirectory(ctx)
  return { ctx, admin: await asUser(ctx, ADMIN), alice: await asUser(ctx, ALICE) }
}

const send = (ctx: TestContext, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET' | 'HEAD', url: string, headers: Record<string, string>, payload?: string | Record<string, unknown>) =>
  ctx.app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) })

/** The fields a problem names (a union schema adds its own `body` line; enums repeat per branch). */
const fieldPaths = (body: string) => [...new Set(((JSON.parse(body) as Problem).errors ?? []).map((e) => e.path).filter((p) => p !== 'body'))]

t.test('JSON answers are typed application/json exactly; problems keep application/problem+json', async (t) => {
  const { ctx, alice } = await setUp(t)
  const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const json = { ...alice, 'content-type': 'application/json' }

  const created = await raw(base, 'POST', `/api/v4/users/${ALICE}/personal_access_tokens`, json, JSON.stringify({ name: 'wire', scopes: ['read_api'], expires_at: inDays(10) }))
  t.equal(created.status, 201, created.body)
  t.equal(created.contentType, 'application/json', 'a single object (201, token creation)')
  const list = await raw(base, 'GET', '/api/v4/personal_access_tokens', alice)
  t.equal(list.status, 200)
  t.equal(list.contentType, 'application/json', 'a list')
  const head = await raw(base, 'HEAD', '/api/v4/personal_access_tokens', alice)
  t.equal(head.contentType, 'application/json', 'HEAD of a list')
  for (const path of ['/readyz', '/docs/json', '/openapi.json', '/api/v4/permissions/categories']) {
    const res = await raw(base, 'GET', path, {})
    t.equal(res.status, 200, path)
    t.equal(res.contentType, 'application/json', path)
  }
  t.match((await raw(base, 'GET', '/metrics', {})).contentType, /^text\/plain/, '/metrics is not JSON and says so')

  // The hot path's answers, the first asking (decided from PostgreSQL or Redis) and the next ones (from L1).
  const service = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}`, 'content-type': 'application/json' }
  const question = JSON.stringify({ token: (JSON.parse(created.body) as TokenJson).token, permission: 'read_code', resource: { type: 'project', id: API_PROJECT } })
  for (const attempt of ['first', 'second', 'third']) {
    const decision = await raw(base, 'POST', '/api/v4/authorize', service, question)
    t.equal(decision.status, 200, decision.body)
    t.equal(decision.contentType, 'application/json', `/authorize, ${attempt} time`)
  }

  const missing = await raw(base, 'GET', '/api/v4/personal_access_tokens/424242', alice)
  t.equal(missing.status, 404)
  t.equal(missing.contentType, 'application/problem+json; charset=utf-8', 'an error is a problem document')
  const invalid = await raw(base, 'POST', `/api/v4/users/${ALICE}/personal_access_tokens`, json, JSON.stringify({ name: 7 }))
  t.equal(invalid.status, 400)
  t.equal(invalid.contentType, 'application/problem+json; charset=utf-8')
})

t.test('a form body, as in GitLab\'s docs: arrays in brackets, values converted by the schema', async (t) => {
  const { ctx, alice, admin } = await setUp(t)
  const expires = inDays(20)
  const legacy = await send(ctx, 'POST', `/api/v4/users/${ALICE}/personal_access_tokens`, { ...alice, ...FORM },
    `name=ci&expires_at=${expires}&scopes[]=api&scopes[]=read_api&description=built+by+curl`)
  t.equal(legacy.statusCode, 201, legacy.body)
  t.match(legacy.json(), { name: 'ci', expires_at: expires, scopes: ['api', 'read_api'], description: 'built by curl', kind: 'legacy' })

  const single = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, ...FORM }, `name=one&scopes=read_api&expires_at=${expires}`)
  t.equal(single.statusCode, 201, single.body)
  t.same(single.json().scopes, ['read_api'], 'a single value for a list is a list of one')

  // Arrays of objects: Rack's grouping (a repeated field starts a new element) and indexed keys.
  const rack = 'granular_scopes[][access]=user&granular_scopes[][permissions][]=read_user' +
    `&granular_scopes[][access]=selected_memberships&granular_scopes[][permissions][]=read_code&granular_scopes[][permissions][]=read_merge_request&granular_scopes[][project_ids][]=${API_PROJECT}`
  const indexed = 'granular_scopes[0][access]=user&granular_scopes[0][permissions][]=read_user' +
    `&granular_scopes[1][access]=selected_memberships&granular_scopes[1][permissions][0]=read_code&granular_scopes[1][permissions][1]=read_merge_request&granular_scopes[1][project_ids][]=${API_PROJECT}`
  for (const [style, scopes] of [['Rack', rack], ['indexed', indexed], ['percent-encoded', encodeURI(rack).replace(/\[/g, '%5B').replace(/\]/g, '%5D')]]) {
    const res = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, ...FORM }, `name=${style}&expires_at=${expires}&${scopes}`)
    t.equal(res.statusCode, 201, `${style}: ${res.body}`)
    const token = res.json() as TokenJson
    t.equal(token.kind, 'fine_grained')
    const byAccess = Object.fromEntries(token.granular_scopes.map((s) => [s.access, s]))
    t.same(byAccess.user?.permissions, ['read_user'], `${style}: first element`)
    t.same(byAccess.selected_memberships?.permissions?.slice().sort(), ['read_code', 'read_merge_request'], `${style}: second element, both permissions`)
    t.ok(JSON.stringify(byAccess.selected_memberships).includes(String(API_PROJECT)), `${style}: the project id, as a number in the token`)
  }

  // Booleans, integers, null and empty lists from text, on a policy (admin settings).
  const settings = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', { ...admin, ...FORM },
    'require_expiry=false&max_lifetime_days=200&allowed_ip_ranges[]=10.0.0.0/8&allowed_ip_ranges[]=::1/128&auto_revoke_unused_days=90')
  t.equal(settings.statusCode, 200, settings.body)
  t.match(settings.json(), { require_expiry: false, max_lifetime_days: 200, allowed_ip_ranges: ['10.0.0.0/8', '::1/128'], auto_revoke_unused_days: 90 })
  const cleared = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', { ...admin, ...FORM }, 'allowed_ip_ranges[]=&auto_revoke_unused_days=')
  t.equal(cleared.statusCode, 200, cleared.body)
  t.match(cleared.json(), { allowed_ip_ranges: [], auto_revoke_unused_days: null, max_lifetime_days: 200 }, 'an empty value: an empty list, or null where null is allowed')
  const group = await send(ctx, 'PUT', `/api/v4/groups/${ACME}/personal_access_token_policy`, { ...admin, ...FORM }, 'require_expiry=true&max_lifetime_days=30&blocked_permissions=push_code')
  t.equal(group.statusCode, 200, group.body)
  t.match(group.json(), { require_expiry: true, max_lifetime_days: 30, blocked_permissions: ['push_code'] })

  const charset = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, `name=charset&scopes[]=read_api&expires_at=${expires}`)
  t.equal(charset.statusCode, 201, `with a charset parameter (${charset.body})`)
})

t.test('a write reads its parameters from the query string too; the body wins', async (t) => {
  const { ctx, alice } = await setUp(t)
  const token = await createToken(ctx, ALICE)
  const rotated = await send(ctx, 'POST', `/api/v4/personal_access_tokens/${token.id}/rotate?expires_at=${inDays(7)}`, alice)
  t.equal(rotated.statusCode, 200, rotated.body)
  t.equal(rotated.json().expires_at, inDays(7), 'POST …/rotate?expires_at= (no body)')

  const other = await createToken(ctx, ALICE)
  const bodyWins = await send(ctx, 'POST', `/api/v4/personal_access_tokens/${other.id}/rotate?expires_at=${inDays(5)}`, alice, { expires_at: inDays(9) })
  t.equal(bodyWins.statusCode, 200, bodyWins.body)
  t.equal(bodyWins.json().expires_at, inDays(9), 'the JSON body wins over the query')

  const mixed = await send(ctx, 'POST', `/api/v4/user/personal_access_tokens?expires_at=${inDays(12)}&description=from+the+query`, alice, { name: 'mixed', scopes: ['read_api'] })
  t.equal(mixed.statusCode, 201, mixed.body)
  t.match(mixed.json(), { name: 'mixed', expires_at: inDays(12), description: 'from the query' }, 'query and JSON merged')
  const formWins = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens?name=query', { ...alice, ...FORM }, `name=form&scopes[]=read_api&expires_at=${inDays(3)}`)
  t.equal(formWins.statusCode, 201, formWins.body)
  t.equal(formWins.json().name, 'form', 'a form body wins over the query')
  for (const [how, res] of [
    ['query', await send(ctx, 'POST', '/api/v4/user/personal_access_tokens?expires_at=', alice, { name: 'empty', scopes: ['read_api'] })],
    ['form', await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, ...FORM }, 'name=empty&scopes[]=read_api&expires_at=')],
  ] as const) {
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.json().expires_at, inDays(365), `an empty expires_at (${how}) is not given: GitLab's default expiry, never "no expiry"`)
  }
})

t.test('JSON bodies stay strictly typed; text is converted only where it came as text', async (t) => {
  const { ctx, alice, admin } = await setUp(t)
  const base = { name: 'typed', scopes: ['read_api'], expires_at: inDays(10) }
  for (const [what, body, path] of [
    ['a number for a name', { ...base, name: 123 }, 'body.name'],
    ['a number for a date', { ...base, expires_at: 5 }, 'body.expires_at'],
    ['text for an id', { ...base, scopes: undefined, template_id: '1' }, 'body.template_id'],
  ] as const) {
    const res = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', alice, body as Record<string, unknown>)
    t.equal(res.statusCode, 400, what)
    t.ok(fieldPaths(res.body).includes(path), `${what}: names ${path} (${res.body})`)
  }
  const knob = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', admin, { require_expiry: 'true' })
  t.equal(knob.statusCode, 400, 'a JSON boolean written as text is refused')

  const badQuery = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens?expires_at=tomorrow', alice, { name: 'x', scopes: ['read_api'] })
  t.equal(badQuery.statusCode, 400)
  t.same(fieldPaths(badQuery.body), ['query.expires_at'], 'a bad query value is named where it was sent')
  const badForm = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', { ...admin, ...FORM }, 'max_lifetime_days=abc&require_expiry=maybe')
  t.equal(badForm.statusCode, 400)
  t.same(fieldPaths(badForm.body).sort(), ['body.max_lifetime_days', 'body.require_expiry'])
  const twice = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, ...FORM }, `name=a&name=b&scopes[]=read_api&expires_at=${inDays(3)}`)
  t.equal(twice.statusCode, 400, 'a single-valued field given twice is refused, not silently one of them')
  t.ok(fieldPaths(twice.body).includes('body.name'))
  // Bounds that keep a form cheap to read (qs's cost grows faster than the number of pairs).
  for (const [what, form] of [
    ['nested too deep', 'name=x&a[b][c][d][e][f][g]=1'],
    ['more than 1,000 pairs', Array.from({ length: 1001 }, (_, i) => `k${i}=1`).join('&')],
    ['a list longer than 500', Array.from({ length: 501 }, () => 'scopes[]=api').join('&')],
    ['more than 100 objects, indexed', 'name=x&granular_scopes[100][access]=user'],
    ['more than 100 objects, Rack', `name=x&${Array.from({ length: 101 }, () => 'granular_scopes[][access]=user').join('&')}`],
  ]) {
    const res = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, ...FORM }, form)
    t.equal(res.statusCode, 400, what)
    t.equal(res.json().code, 'invalid_parameters', `${what}: ${res.json().detail}`)
  }
})

t.test('writes stay strict: an unknown parameter is a 400 from a form, the query or JSON', async (t) => {
  const { ctx, alice, admin } = await setUp(t)
  const before = (await send(ctx, 'GET', '/api/v4/application/settings/personal_access_tokens', admin)).json()
  const typo = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', { ...admin, ...FORM }, 'require_expiray=true&max_lifetime_days=100')
  t.equal(typo.statusCode, 400, 'a policy knob typed wrong in a form')
  t.same(fieldPaths(typo.body), ['body.require_expiray'])
  const typoQuery = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens?require_expiray=true', admin, { max_lifetime_days: 100 })
  t.equal(typoQuery.statusCode, 400, 'in the query')
  t.same(fieldPaths(typoQuery.body), ['query.require_expiray'])
  const typoJson = await send(ctx, 'PUT', '/api/v4/application/settings/personal_access_tokens', admin, { require_expiray: true, max_lifetime_days: 100 })
  t.equal(typoJson.statusCode, 400, 'in JSON')
  t.same((await send(ctx, 'GET', '/api/v4/application/settings/personal_access_tokens', admin)).json(), before, 'nothing was changed')

  const token = await createToken(ctx, ALICE)
  const perPage = await send(ctx, 'POST', `/api/v4/personal_access_tokens/${token.id}/rotate?per_page=100`, alice)
  t.equal(perPage.statusCode, 400, 'a write is not a list: per_page is unknown there')
  t.same(fieldPaths(perPage.body), ['query.per_page'])
  const revoke = await send(ctx, 'DELETE', `/api/v4/personal_access_tokens/${token.id}?cause=leaked`, alice)
  t.equal(revoke.statusCode, 400, 'a write refuses a parameter it does not take (reason it takes)')
  t.same(fieldPaths(revoke.body), ['query.cause'])
  t.equal((await send(ctx, 'GET', `/api/v4/personal_access_tokens/${token.id}`, alice)).json().active, true, 'the token was not revoked')
  // python-gitlab sends `Content-Type: application/json` on every request, a DELETE's empty body too.
  t.equal((await send(ctx, 'DELETE', `/api/v4/personal_access_tokens/${token.id}`, { ...alice, 'content-type': 'application/json' }, '')).statusCode, 204, 'an empty JSON body is no body')
  const noBody = await send(ctx, 'POST', '/api/v4/user/personal_access_tokens', { ...alice, 'content-type': 'application/json' }, '')
  t.equal(noBody.statusCode, 400, 'a route that needs a body still says so')
  t.equal(noBody.json().code, 'validation_failed')

  // A secret in a URL ends up in access logs: refused, and never in ours.
  const secret = (await createToken(ctx, ALICE)).token!
  const lookup = await send(ctx, 'POST', `/api/v4/admin/token?token=${secret}`, admin)
  t.equal(lookup.statusCode, 400)
  t.same(fieldPaths(lookup.body), ['query.token'])
  const byForm = await send(ctx, 'POST', '/api/v4/admin/token', { ...admin, ...FORM }, `token=${secret}`)
  t.equal(byForm.statusCode, 200, 'the same lookup with the secret in a form body')
  t.notOk(ctx.logs.text.includes(secret), 'the secret sent in a query string is not in the log')
  t.match(ctx.logs.text, /admin\/token\?token=\[redacted\]/, 'the request log shows where it was, without it')
  for (const name of ['token[]', 'token%5B0%5D', 'private_token[x]']) {
    await send(ctx, 'GET', `/api/v4/permissions?${name}=${secret}`, admin)
    await send(ctx, 'POST', `/api/v4/admin/token?${name}=${secret}`, admin)
  }
  t.notOk(ctx.logs.text.includes(secret), 'nor under a bracketed name (token[]=, token[0]=), on reads or writes')

  const directory = await send(ctx, 'PUT', '/api/v4/directory/users/9', { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}`, ...FORM }, 'username=x&name=x&email=x@example.com')
  t.equal(directory.statusCode, 415, 'the directory sync takes JSON only')
})

t.test('reads ignore query parameters they do not know, and still check the ones they do', async (t) => {
  const { ctx, alice, admin } = await setUp(t)
  await createToken(ctx, ALICE)
  await createToken(ctx, ALICE, { name: 'second' })
  for (const url of ['/api/v4/permissions?per_page=100', '/api/v4/permissions?search=clone&page=2&order_by=name',
    '/api/v4/personal_access_tokens?per_page=1&pagination=keyset&order_by=id', `/api/v4/groups/${ACME}/audit_events?per_page=100&page=1&sort=desc`,
    '/api/v4/admin/personal_access_tokens?per_page=100&foo=bar', '/api/v4/personal_access_token_templates?per_page=100', '/api/v4/personal_access_tokens/self?per_page=100']) {
    const res = await send(ctx, 'GET', url, url.includes('/self') ? { 'private-token': (await createToken(ctx, ALICE)).token! } : admin)
    t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`)
  }
  const page = await send(ctx, 'GET', '/api/v4/personal_access_tokens?per_page=1&unknown=1', alice)
  t.equal(page.json().length, 1, 'a known parameter beside an unknown one still applies')
  const head = await send(ctx, 'HEAD', '/api/v4/personal_access_tokens?per_page=100&pagination=keyset', alice)
  t.equal(head.statusCode, 200, 'HEAD as GET')
  for (const [url, path] of [['/api/v4/personal_access_tokens?page=abc&foo=1', 'query.page'], ['/api/v4/permissions?per_page=100&boundary=bogus', 'query.boundary'],
    ['/api/v4/audit_events?per_page=500', 'query.per_page']]) {
    const res = await send(ctx, 'GET', url, admin)
    t.equal(res.statusCode, 400, url)
    t.same(fieldPaths(res.body), [path], `${url}: names ${path} only`)
  }
})
