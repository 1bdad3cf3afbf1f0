// The all_memberships flag on the token row (migration 0017) follows the token's scopes through
// every write, and a group's inventory counts a member's token as broad exactly while it holds
// such a scope: created broad, edited to a selected scope elsewhere (leaves the group), edited
// back (returns). The group inventory reads the flag through the partial index pat_broad_by_user.
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ALICE, API_PROJECT, asUser, BOB, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn, type TokenJson } from '../../helpers/tokens.js'

t.test('a member\'s token is in a group\'s inventory as broad exactly while a scope is all_memberships', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const flag = async (id: number) => (await ctx.app.db.selectFrom('personal_access_tokens').select('all_memberships').where('id', '=', id).executeTakeFirstOrThrow()).all_memberships
  // Bob owns opensource; Alice is a reporter there, and her token names only acme's api project.
  const inOpensource = async () => {
    const res = await ctx.app.inject({ url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens?per_page=100`, headers: await asUser(ctx, BOB) })
    t.equal(res.statusCode, 200, res.body)
    return (res.json() as TokenJson[]).map((x) => x.id)
  }
  const edit = async (id: number, granular_scopes: unknown) => {
    const res = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes } })
    t.equal(res.statusCode, 200, res.body)
  }
  const broad = [{ access: 'all_memberships', permissions: ['read_issue'] }]

  const token = await createToken(ctx, ALICE, { granular_scopes: broad })
  const selected = await createToken(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })
  t.same([await flag(token.id), await flag(selected.id), await flag(legacy.id)], [true, false, false], 'set from the scopes at creation (legacy: from its kind)')
  t.same((await inOpensource()).sort(), [token.id, legacy.id].sort(), 'the broad and the legacy token of a member; not the one selected elsewhere')

  await edit(token.id, readCodeOn([API_PROJECT]))
  t.equal(await flag(token.id), false, 'edited to a selected scope: cleared')
  t.same(await inOpensource(), [legacy.id], 'and it left the group\'s inventory')

  await edit(token.id, [...readCodeOn([API_PROJECT]), ...broad])
  t.equal(await flag(token.id), true, 'an all_memberships scope added back: set')
  t.same((await inOpensource()).sort(), [token.id, legacy.id].sort(), 'back in the group\'s inventory')

  // Every writer keeps it, not only the API: a scope row deleted directly clears it too.
  await sql`delete from personal_access_token_scopes where token_id = ${token.id} and access = 'all_memberships'`.execute(ctx.app.db)
  t.equal(await flag(token.id), false, 'a scope row deleted in SQL: cleared by the trigger')

  // The group list's broad branch reads the partial index (the planner's choice on this tiny table
  // may be a sequential scan, so it is asked with sequential scans off).
  const plan = await ctx.app.db.transaction().execute(async (trx) => {
    await sql`set local enable_seqscan = off`.execute(trx)
    const { rows } = await sql<{ 'QUERY PLAN': string }>`explain select t.id from personal_access_tokens t where t.user_id = ${ALICE} and (t.kind = 'legacy' or t.all_memberships)`.execute(trx)
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  })
  t.match(plan, /pat_broad_by_user/, 'the broad tokens of a user come from pat_broad_by_user')
})
