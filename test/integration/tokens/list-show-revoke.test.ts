import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, readCodeOn, type TokenJson } from '../../helpers/tokens.js'

t.test('list: own tokens only, filters, sort and GitLab pagination headers', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const a1 = await createToken(ctx, ALICE, { name: 'alpha', expires_at: inDays(10) })
  const a2 = await createToken(ctx, ALICE, { name: 'beta', expires_at: inDays(20), granular_scopes: undefined, scopes: ['read_api'] })
  const a3 = await createToken(ctx, ALICE, { name: 'gamma', expires_at: inDays(30) })
  await createToken(ctx, BOB, { name: 'bobs', granular_scopes: readCodeOn([201]) })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${a3.id}`, headers: await asUser(ctx, ALICE) })
  const list = async (query: string, user = ALICE) => {
    const res = await ctx.app.inject({ url: `/api/v4/personal_access_tokens${query}`, headers: await asUser(ctx, user) })
    t.equal(res.statusCode, 200, `${query} answers 200`)
    return { res, names: (res.json() as TokenJson[]).map((x) => x.name) }
  }
  t.same((await list('')).names, ['gamma', 'beta', 'alpha'], 'newest first, only alice\'s')
  t.same((await list('?sort=name_asc')).names, ['alpha', 'beta', 'gamma'])
  t.same((await list('?sort=expires_desc')).names, ['gamma', 'beta', 'alpha'])
  t.same((await list('?state=active')).names, ['beta', 'alpha'])
  t.same((await list('?state=inactive')).names, ['gamma'])
  t.same((await list('?revoked=true')).names, ['gamma'])
  t.same((await list('?revoked=false&sort=created_asc')).names, ['alpha', 'beta'])
  t.same((await list('?kind=legacy')).names, ['beta'])
  t.same((await list('?search=ALP')).names, ['alpha'])
  t.same((await list('?search=%25')).names, [], 'LIKE wildcards are literal')
  t.same((await list(`?expires_before=${inDays(15)}`)).names, ['alpha'])
  t.same((await list(`?expires_after=${inDays(15)}&sort=name_asc`)).names, ['beta', 'gamma'])
  t.same((await list(`?created_after=${new Date(Date.now() + 60_000).toISOString()}`)).names, [])
  t.same((await list(`?created_before=${new Date(Date.now() + 60_000).toISOString()}&per_page=1`)).names, ['gamma'])
  t.same((await list('?last_used_after=2020-01-01')).names, [], 'never used')

  const { res } = await list('?per_page=2&page=1')
  t.equal(res.headers['x-total'], '3')
  t.equal(res.headers['x-total-pages'], '2')
  t.equal(res.headers['x-next-page'], '2')
  t.equal(res.headers['x-prev-page'], '')
  t.match(res.headers.link, /per_page=2&page=2>; rel="next"/)
  const page2 = await list('?per_page=2&page=2')
  t.same(page2.names, ['alpha'])
  t.equal(page2.res.headers['x-prev-page'], '1')

  const admin = await list('', ADMIN)
  t.equal(admin.names.length, 4, 'an admin sees every user\'s tokens')
  t.same((await list(`?user_id=${BOB}`, ADMIN)).names, ['bobs'])
  const other = await ctx.app.inject({ url: `/api/v4/personal_access_tokens?user_id=${BOB}`, headers: await asUser(ctx, ALICE) })
  t.equal(other.statusCode, 403)
  const bad = await ctx.app.inject({ url: '/api/v4/personal_access_tokens?per_page=1000', headers: await asUser(ctx, ALICE) })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].path, 'query.per_page')
  const badSort = await ctx.app.inject({ url: '/api/v4/personal_access_tokens?sort=random', headers: await asUser(ctx, ALICE) })
  t.equal(badSort.statusCode, 400)
  void a1
  void a2
})

t.test('show and revoke: yours or an admin\'s; others get 404', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  const url = `/api/v4/personal_access_tokens/${token.id}`
  t.equal((await ctx.app.inject({ url, headers: await asUser(ctx, BOB) })).statusCode, 404, 'bob cannot see it')
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/99999', headers: await asUser(ctx, BOB) })).statusCode, 404, 'same answer as a missing one')
  t.equal((await ctx.app.inject({ url, headers: await asUser(ctx, ADMIN) })).statusCode, 200, 'admin can')
  const bobRevoke = await ctx.app.inject({ method: 'DELETE', url, headers: await asUser(ctx, BOB) })
  t.equal(bobRevoke.statusCode, 404)
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })).statusCode, 200, 'still active')

  const revoke = await ctx.app.inject({ method: 'DELETE', url, headers: await asUser(ctx, ALICE) })
  t.equal(revoke.statusCode, 204)
  const shown = (await ctx.app.inject({ url, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.match(shown, { state: 'revoked', revoked: true, active: false, revoke_reason: 'owner' })
  const again = await ctx.app.inject({ method: 'DELETE', url, headers: await asUser(ctx, ALICE) })
  t.equal(again.statusCode, 204, 'revoking twice is harmless')
  const events = await ctx.app.db.selectFrom('audit_events').select('action').where('action', '=', 'token.revoked').execute()
  t.equal(events.length, 1, 'and audited once')
  const use = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })
  t.equal(use.statusCode, 401, 'a revoked token no longer authenticates')
  t.equal(use.json().code, 'token_revoked')

  const other = await createToken(ctx, ALICE)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${other.id}`, headers: await asUser(ctx, ADMIN) })
  const byAdmin = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${other.id}`, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.equal(byAdmin.revoke_reason, 'admin')
})

t.test('self endpoints and admin token information', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', group_ids: [100], permissions: ['read_code'] }, { access: 'personal_projects', permissions: ['read_code'] }] })
  const self = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: { authorization: `Bearer ${token.token}` } })
  t.equal(self.statusCode, 200, 'a PAT works as Bearer too')
  t.equal(self.json().id, token.id)
  const viaJwt = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: await asUser(ctx, ALICE) })
  t.equal(viaJwt.statusCode, 400)
  t.equal(viaJwt.json().code, 'token_caller_required')

  const assoc = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self/associations', headers: patHeader(token.token!) })
  t.equal(assoc.statusCode, 200)
  const body = assoc.json() as { groups: { full_path: string }[]; projects: { full_path: string; access_level: number }[] }
  t.same(body.groups.map((g) => g.full_path), ['acme', 'acme/platform', 'acme/platform/infra'])
  t.same(body.projects.map((p) => p.full_path), ['acme/platform/api', 'acme/platform/infra/terraform', 'acme/website', 'alice/dotfiles'])
  t.equal(body.projects[0].access_level, 40, 'maintainer on the api project, developer elsewhere')

  const plain = await ctx.app.inject({ url: '/api/v4/personal_access_tokens', headers: patHeader(token.token!) })
  t.equal(plain.statusCode, 403, 'listing needs read_personal_access_token in the token')
  t.equal(plain.json().code, 'insufficient_scope')

  const info = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/token', headers: await asUser(ctx, ADMIN), payload: { token: token.token } })
  t.equal(info.statusCode, 200)
  t.equal(info.json().id, token.id)
  const notAdmin = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/token', headers: await asUser(ctx, ALICE), payload: { token: token.token } })
  t.equal(notAdmin.statusCode, 403)
  const unknown = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/token', headers: await asUser(ctx, ADMIN), payload: { token: 'fgpat-nope' } })
  t.equal(unknown.statusCode, 404)
  const adminRevoke = await ctx.app.inject({ method: 'DELETE', url: '/api/v4/admin/token', headers: await asUser(ctx, ADMIN), payload: { token: token.token } })
  t.equal(adminRevoke.statusCode, 204)
  const after = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })
  t.equal(after.statusCode, 401)

  const second = await createToken(ctx, ALICE)
  const selfRevoke = await ctx.app.inject({ method: 'DELETE', url: '/api/v4/personal_access_tokens/self', headers: patHeader(second.token!) })
  t.equal(selfRevoke.statusCode, 204, 'any token may revoke itself')
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(second.token!) })).statusCode, 401)
})
