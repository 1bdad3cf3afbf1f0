// The inventory's name search: one filter for the page, the summary (which then counts tokens, not
// the per-bucket table) and the CSV export, in the admin and the group inventory alike.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, CLI_PROJECT, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'

const ids = (body: unknown) => (body as TokenJson[]).map((x) => x.id).sort((a, b) => a - b)

t.test('search narrows the page, the summary and the CSV to tokens whose name contains the term', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const onCli = { granular_scopes: [{ access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code'] }] }
  const deploy = await createToken(ctx, ALICE, { name: 'Deploy bot', ...onCli })
  const ci = await createToken(ctx, ALICE, { name: 'ci', ...onCli })
  const odd = await createToken(ctx, BOB, { name: '100%_done' })
  const admin = await asUser(ctx, ADMIN)

  const q = async (query: string, base = '/api/v4/admin/personal_access_tokens', headers = admin) => ctx.app.inject({ url: `${base}?${query}`, headers })
  t.same(ids((await q('search=deploy')).json()), [deploy.id], 'case-insensitive part of the name')
  t.same(ids((await q('search=%25_')).json()), [odd.id], 'wildcards are literal')
  t.same(ids((await q('search=nothing')).json()), [])
  t.match((await q('search=DEPLOY', '/api/v4/admin/personal_access_tokens/summary')).json(), { total: 1, by_state: { active: 1 } }, 'the summary counts the matches')

  const group = `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens`
  const bob = await asUser(ctx, BOB)
  t.same(ids((await q('search=ci', group, bob)).json()), [ci.id])
  const csv = await ctx.app.inject({ url: `${group}?search=deploy`, headers: { ...bob, accept: 'text/csv' } })
  t.equal(csv.statusCode, 200)
  const lines = csv.body.trim().split('\n')
  t.equal(lines.length, 2, 'the header and one token')
  t.match(lines[1], /^\d+,2,Deploy bot,fine_grained,active,/)
})
