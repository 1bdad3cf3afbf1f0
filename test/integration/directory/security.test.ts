// Every directory route refuses callers without the directory:write scope, and does so before it
// looks at the body (an unauthenticated caller learns nothing about the schema).
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, BOB, CAROL, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { auditRows, directoryClient, problem, tableCounts } from './client.js'

interface Route {
  method: 'PUT' | 'POST' | 'DELETE'
  url: string
  payload?: Record<string, unknown>
  status: number
}

// Valid requests: with a good credential each would succeed with `status`.
const routes: Route[] = [
  { method: 'PUT', url: '/directory/users/50', payload: { username: 'mallory', name: 'Mallory', email: 'm@example.com', is_admin: true }, status: 200 },
  { method: 'PUT', url: `/directory/namespaces/500`, payload: { kind: 'group', path: 'evil', parent_id: ACME }, status: 200 },
  { method: 'PUT', url: `/directory/namespaces/${ACME}/members/${CAROL}`, payload: { access_level: 50 }, status: 200 },
  { method: 'DELETE', url: `/directory/namespaces/${ACME}/members/${ALICE}`, status: 204 },
  { method: 'POST', url: '/directory/bulk', payload: { users: [{ id: 51, username: 'eve', name: 'Eve', email: 'e@example.com' }] }, status: 200 },
]

async function send(ctx: TestContext, route: Route, headers: Record<string, string>, payload = route.payload) {
  return ctx.app.inject({ method: route.method, url: `/api/v4${route.url}`, headers, ...(payload ? { payload } : {}) })
}

t.test('refused callers change nothing and get problem+json with a stable code', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const pat = await createToken(ctx, ALICE)
  await directoryClient(ctx).then((c) => c.putUser(BOB, { username: 'bob', name: 'Bob', email: 'bob@example.com', state: 'blocked' }))
  const before = await tableCounts(ctx)
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const cases: [string, Record<string, string>, number, string][] = [
    ['no Authorization', {}, 401, 'unauthorized'],
    ['a garbage bearer', bearer('garbage'), 401, 'invalid_token'],
    ['a garbage JWT-shaped bearer', bearer('aaa.bbb.ccc'), 401, 'unauthorized'],
    ['a JWT for an unknown user', bearer(await ctx.jwt.user(999, ['directory:write'])), 401, 'unauthorized'],
    ['a service JWT without the scope', bearer(await ctx.jwt.service('idp', ['authorize', 'tokens:admin'])), 403, 'missing_scope'],
    ['a service JWT with a look-alike scope', bearer(await ctx.jwt.service('idp', ['directory:read', 'directory'])), 403, 'missing_scope'],
    ['an admin user JWT without the scope', bearer(await ctx.jwt.user(ADMIN)), 403, 'missing_scope'],
    ['a user JWT without the scope', bearer(await ctx.jwt.user(ALICE, ['authorize'])), 403, 'missing_scope'],
    ['a blocked user JWT with the scope', bearer(await ctx.jwt.user(BOB, ['directory:write'])), 403, 'user_inactive'],
    ['a personal access token', { 'private-token': pat.token! }, 403, 'jwt_required'],
    ['a personal access token as bearer', bearer(pat.token!), 403, 'jwt_required'],
  ]
  for (const route of routes) {
    for (const [label, headers, status, code] of cases) {
      const name = `${route.method} ${route.url} with ${label}`
      const body = problem(await send(ctx, route, headers), status)
      t.equal(body.code, code, `${name} → ${status} ${code}`)
      // an invalid body does not change the answer: authentication comes first
      const invalid = problem(await send(ctx, route, headers, route.payload ? { nonsense: true } : undefined), status)
      t.equal(invalid.code, code, `${name} and an invalid body → ${status} ${code}`)
    }
  }
  t.same(await tableCounts(ctx), before, 'nothing was written, not even an audit row')
})

t.test('the directory:write scope is enough, for a service or a user JWT, and the actor is audited', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const callers: [string, string, string][] = [
    [await ctx.jwt.service('scim', ['authorize', 'directory:write']), 'service', 'scim'],
    [await ctx.jwt.user(ADMIN, ['directory:write']), 'user', String(ADMIN)],
  ]
  for (const [token, actorType, actorId] of callers) {
    for (const route of routes) {
      const res = await send(ctx, route, { authorization: `Bearer ${token}` })
      t.equal(res.statusCode, route.status, `${route.method} ${route.url} as ${actorType} → ${route.status}`)
      if (route.method === 'DELETE') continue // the second DELETE removes nothing, so it audits nothing
      const [last] = (await auditRows(ctx)).slice(-1)
      t.match(last, { actor_type: actorType, actor_id: actorId }, `${route.method} ${route.url} audits its actor`)
    }
  }
})
