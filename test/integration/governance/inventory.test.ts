import { sql } from 'kysely'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, DOTFILES, inDays, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'

const ids = (body: unknown) => (body as TokenJson[]).map((x) => x.id).sort((a, b) => a - b)

t.test('admins see every token; group owners only the tokens that reach their group', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const onApi = await createToken(ctx, ALICE, { expires_at: inDays(5) }) // project under acme
  const onCli = await createToken(ctx, ALICE, { expires_at: inDays(60), granular_scopes: [{ access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code', 'push_code'] }] })
  const personal = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', project_ids: [DOTFILES], permissions: ['read_code'] }] })
  const broad = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_issue'] }] })
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'] })
  const bobs = await createToken(ctx, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code'] }] })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${onApi.id}`, headers: await asUser(ctx, ALICE) })

  const all = await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens?per_page=100', headers: await asUser(ctx, ADMIN) })
  t.equal(all.statusCode, 200)
  t.same(ids(all.json()), [onApi.id, onCli.id, personal.id, broad.id, legacy.id, bobs.id].sort((a, b) => a - b))
  t.equal(all.headers['x-total'], '6')
  t.equal((await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: await asUser(ctx, ALICE) })).statusCode, 403)

  const q = async (query: string, who = ADMIN) => ctx.app.inject({ url: `/api/v4/admin/personal_access_tokens?${query}`, headers: await asUser(ctx, who) })
  t.same(ids((await q(`user_id=${BOB}`)).json()), [bobs.id])
  t.same(ids((await q('kind=legacy')).json()), [legacy.id])
  t.same(ids((await q('state=revoked')).json()), [onApi.id])
  t.same(ids((await q(`expires_before=${inDays(10)}`)).json()), [onApi.id])
  t.same(ids((await q('permission=push_code')).json()), [onCli.id, legacy.id], 'the legacy api scope grants push_code too')
  t.same(ids((await q(`namespace_id=${CLI_PROJECT}`)).json()), [onCli.id, broad.id, legacy.id], 'selected there, or broad tokens of a member')
  t.equal((await q('permission=nope')).json().code, 'unknown_permission')
  t.same(ids((await q('sort=expires_asc&per_page=1')).json()), [onApi.id])

  const summary = await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens/summary', headers: await asUser(ctx, ADMIN) })
  t.match(summary.json(), { total: 6, by_kind: { fine_grained: 5, legacy: 1 }, by_state: { active: 5, revoked: 1, expired: 0 }, expiring_within_7_days: 0, never_used: 5, legacy_with_api: 1 })

  // Bob owns opensource: tokens selected on it, and broad tokens of its members (alice is a reporter there).
  const oss = await ctx.app.inject({ url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens`, headers: await asUser(ctx, BOB) })
  t.equal(oss.statusCode, 200)
  t.same(ids(oss.json()), [onCli.id, broad.id, legacy.id])
  for (const [who, group] of [[ALICE, OPENSOURCE], [BOB, ACME], [CAROL, OPENSOURCE], [BOB, 999]] as const) {
    t.equal((await ctx.app.inject({ url: `/api/v4/groups/${group}/manage/personal_access_tokens`, headers: await asUser(ctx, who) })).statusCode, 404, `user ${who} on group ${group}`)
  }
  const acme = await ctx.app.inject({ url: `/api/v4/groups/${ACME}/manage/personal_access_tokens?per_page=100`, headers: await asUser(ctx, ADMIN) })
  t.same(ids(acme.json()), [onApi.id, broad.id, legacy.id, bobs.id], 'acme: selected below it, and broad tokens of its members')
  const acmePage = await ctx.app.inject({ url: `/api/v4/groups/${ACME}/manage/personal_access_tokens?per_page=1&page=2`, headers: await asUser(ctx, ADMIN) })
  t.match(acmePage.headers, { 'x-total': '4', 'x-total-pages': '4', 'x-next-page': '3', 'x-prev-page': '1' }, 'a page of a group\'s reach still knows the total')
  const userPage = await ctx.app.inject({ url: `/api/v4/admin/personal_access_tokens?user_id=${ALICE}&per_page=2`, headers: await asUser(ctx, ADMIN) })
  t.match(userPage.headers, { 'x-total': '5', 'x-total-pages': '3', 'x-next-page': '2' })

  const outside = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens/${bobs.id}`, headers: await asUser(ctx, BOB) })
  t.equal(outside.statusCode, 404, 'a token that does not reach the group is not the owner\'s business')
  const revoked = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens/${onCli.id}`, headers: await asUser(ctx, BOB) })
  t.equal(revoked.statusCode, 204)
  const row = await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', onCli.id).executeTakeFirstOrThrow()
  t.match(row, { revoke_reason: 'group_owner', revoked_by: `user:${BOB}` })
  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens/${broad.id}/rotate`, headers: await asUser(ctx, BOB) })
  t.equal(rotated.statusCode, 403, 'a group owner never receives another user\'s secret (group-access.test.ts)')
  t.equal(rotated.json().code, 'group_owner_cannot_rotate')
})

t.test('CSV export streams every matching token', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const tok = await createToken(ctx, ALICE, { name: '=cmd()' })
  // Bulk rows straight into the table: the export is what is measured, not token creation.
  await sql`insert into personal_access_tokens (user_id, name, kind, scopes, token_digest, token_hint, expires_at, created_by)
    select ${BOB}, 'bulk', 'legacy', '{read_api}', sha256(convert_to(i::text, 'utf8')), 'lgpat-xxxx', ${inDays(30)}::date, 'test'
    from generate_series(1, 5000) i`.execute(ctx.app.db)
  const res = await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: { ...(await asUser(ctx, ADMIN)), accept: 'text/csv' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv/)
  const lines = res.body.trimEnd().split('\n')
  t.equal(lines[0], 'id,user_id,name,kind,state,scopes,permissions,created_at,expires_at,last_used_at,revoked_at,revoke_reason,token_hint,owner_kind')
  t.equal(lines.length, 5002)
  t.match(lines[1], new RegExp(`^${tok.id},${ALICE},'=cmd\\(\\),fine_grained,active,,read_code,`), 'formula-looking names are defused')
  t.notOk(res.body.includes(tok.token!), 'never a secret')
  const filtered = await ctx.app.inject({ url: `/api/v4/admin/personal_access_tokens?user_id=${ALICE}`, headers: { ...(await asUser(ctx, ADMIN)), accept: 'text/csv' } })
  t.equal(filtered.body.trimEnd().split('\n').length, 2)
})
