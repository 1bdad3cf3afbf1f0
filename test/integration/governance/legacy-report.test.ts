// The legacy report: live legacy tokens reaching the instance (administrators) or a group (its
// owners, as the group inventory counts reach), with owner, last use, conversion status and the
// proposal for each; a summary with the cut-off arithmetic ("how many would stop working").
import { sql } from 'kysely'
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, inDays, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

interface ReportJson {
  summary: Record<string, unknown>
  tokens: { id: number; owner: { id: number; username: string; name: string }; conversion: Record<string, unknown>; proposal: Record<string, unknown>; scopes: string[]; last_used_at: string | null }[]
}

const legacy = (ctx: TestContext, userId: number, name: string, expiresIn: number, scopes = ['api']) =>
  createToken(ctx, userId, { name, scopes, granular_scopes: undefined, expires_at: inDays(expiresIn) })

async function report(ctx: TestContext, path: string, who = ADMIN) {
  return ctx.app.inject({ url: `/api/v4/${path}`, headers: await asUser(ctx, who) })
}

t.test('who sees what; the summary counts; the cut-off arithmetic; pagination', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const a1 = await legacy(ctx, ALICE, 'a1 used', 200)
  const a2 = await legacy(ctx, ALICE, 'a2 expires soon', 10, ['read_api'])
  const a3 = await legacy(ctx, ALICE, 'a3 converting', 200)
  const b1 = await legacy(ctx, BOB, 'b1', 300)
  const c1 = await legacy(ctx, CAROL, 'carol: no memberships', 300)
  await createToken(ctx, ALICE, { name: 'fine-grained: not in the report' })
  const gone = await legacy(ctx, ALICE, 'revoked: not in the report', 100)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${gone.id}`, headers: await asUser(ctx, ALICE) })
  const converted = await ctx.app.inject({
    method: 'POST', url: `/api/v4/personal_access_tokens/${a3.id}/convert`, headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] },
  })
  t.equal(converted.statusCode, 201, converted.body)
  const successorId = converted.json().id as number
  await sql`update personal_access_tokens set last_used_at = now() - interval '1 day' where id = ${a1.id}`.execute(ctx.app.db)
  await sql`update personal_access_tokens set last_used_at = now() - interval '40 days' where id = ${b1.id}`.execute(ctx.app.db)
  // Enough recorded use for a proposal (10 allowed decisions on 2 days) for a1 only; b1 was used once.
  await sql`insert into token_usage_daily (token_id, day, permission, namespace_id, allowed, denied) values
    (${a1.id}, ${inDays(-1)}, 'read_code', ${API_PROJECT}, 6, 0), (${a1.id}, ${inDays(-2)}, 'read_code', ${API_PROJECT}, 6, 0),
    (${b1.id}, ${inDays(-2)}, 'read_code', ${PLATFORM}, 1, 0)`.execute(ctx.app.db)

  // Administrators: every live legacy token.
  const all = await report(ctx, 'admin/personal_access_tokens/legacy_report')
  t.equal(all.statusCode, 200, all.body)
  const allBody = all.json() as ReportJson
  t.same(allBody.tokens.map((x) => x.id).sort((x, y) => x - y), [a1.id, a2.id, a3.id, b1.id, c1.id])
  t.equal(allBody.tokens[0].id, a1.id, 'most recently used first')
  t.same(allBody.summary, {
    total: 5, used_last_30_days: 1, with_proposal: 1, being_converted: 1,
    enforcement_date: null, cutoff: null, cutoff_source: null, would_stop_working: null,
  })
  const a3Row = allBody.tokens.find((x) => x.id === a3.id)!
  t.match(a3Row.conversion, { status: 'converting', successor_id: successorId })
  t.ok(Date.parse(a3Row.conversion.grace_ends_at as string) > Date.now(), 'with the grace end')
  t.match(allBody.tokens.find((x) => x.id === a1.id), {
    owner: { id: ALICE, username: 'alice', name: 'Alice' }, scopes: ['api'], conversion: { status: 'not_converted', successor_id: null, grace_ends_at: null },
    proposal: { confidence: 'low', summary: String, reason: null, recommended_granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] },
  })
  t.match(allBody.tokens.find((x) => x.id === b1.id)?.proposal, { confidence: 'none', recommended_granular_scopes: null, reason: /Too little evidence/ })
  // The report weighs a page's evidence at once and skips the rest of the recommendation where it
  // is too little: the same words as the token's own recommendation, with and without use.
  for (const id of [b1.id, c1.id]) {
    const rec = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${id}/recommendation`, headers: await asUser(ctx, ADMIN) })).json()
    t.same(allBody.tokens.find((x) => x.id === id)?.proposal, { confidence: rec.confidence, summary: rec.summary, recommended_granular_scopes: null, reason: rec.reason })
  }
  t.equal(all.headers['x-total'], '5')
  const paged = await report(ctx, 'admin/personal_access_tokens/legacy_report?per_page=2&page=2')
  t.equal((paged.json() as ReportJson).tokens.length, 2)
  t.match(paged.headers, { 'x-total': '5', 'x-total-pages': '3', 'x-page': '2', 'x-next-page': '3', 'x-prev-page': '1' })
  t.match(paged.headers.link, /rel="next"/)

  const notAdmin = await report(ctx, 'admin/personal_access_tokens/legacy_report', ALICE)
  t.equal(notAdmin.statusCode, 403)
  t.equal(notAdmin.json().code, 'admin_required')

  // Bob owns opensource: the legacy tokens of its members (alice, bob), not carol's.
  const oss = await report(ctx, `groups/${OPENSOURCE}/personal_access_tokens/legacy_report`, BOB)
  t.equal(oss.statusCode, 200, oss.body)
  const ossBody = oss.json() as ReportJson
  t.same(ossBody.tokens.map((x) => x.id).sort((x, y) => x - y), [a1.id, a2.id, a3.id, b1.id], 'only tokens reaching the group')
  t.match(ossBody.summary, { group_id: OPENSOURCE, full_path: 'opensource', total: 4, enforcement_date: null, would_stop_working: null })
  t.match(ossBody.tokens.find((x) => x.id === a1.id)?.proposal, { recommended_granular_scopes: [], scopes_outside_group: 1 },
    'a proposal naming a project outside the group is not shown to its owner, only counted')
  const acmeA1 = ((await report(ctx, `groups/${ACME}/personal_access_tokens/legacy_report`)).json() as ReportJson).tokens.find((x) => x.id === a1.id)
  t.match(acmeA1?.proposal, { recommended_granular_scopes: [{ project_ids: [API_PROJECT] }], scopes_outside_group: 0 }, 'inside the group it is shown')

  // Others: 404 for a group they do not own (as the inventory), 404 for a group that does not exist.
  t.equal((await report(ctx, `groups/${ACME}/personal_access_tokens/legacy_report`, BOB)).statusCode, 404, 'bob is only a reporter below acme')
  t.equal((await report(ctx, `groups/${OPENSOURCE}/personal_access_tokens/legacy_report`, ALICE)).statusCode, 404, 'alice is a reporter')
  t.equal((await report(ctx, 'groups/999999/personal_access_tokens/legacy_report', BOB)).statusCode, 404)

  // The cut-off: the group's enforce_fine_grained_from in 20 days. a2 expires (day 10) and a3's grace
  // ends (day 14) before it: a1 and b1 would stop working.
  const put = await ctx.app.inject({ method: 'PUT', url: `/api/v4/groups/${OPENSOURCE}/personal_access_token_policy`, headers: await asUser(ctx, BOB), payload: { enforce_fine_grained_from: inDays(20) } })
  t.equal(put.statusCode, 200, put.body)
  const withCutoff = (await report(ctx, `groups/${OPENSOURCE}/personal_access_tokens/legacy_report`, BOB)).json() as ReportJson
  t.match(withCutoff.summary, { enforcement_date: inDays(20), cutoff: inDays(20), cutoff_source: 'group_policy', would_stop_working: 2 })
  const whatIf = async (cutoff: string) => ((await report(ctx, `groups/${OPENSOURCE}/personal_access_tokens/legacy_report?cutoff=${cutoff}`, BOB)).json() as ReportJson).summary
  t.match(await whatIf(inDays(5)), { enforcement_date: inDays(20), cutoff: inDays(5), cutoff_source: 'query', would_stop_working: 4 }, 'in 5 days: all four are still live')
  t.match(await whatIf(inDays(10)), { would_stop_working: 3 }, 'a2 expires that very day: it stops anyway')
  t.match(await whatIf(inDays(400)), { would_stop_working: 0 }, 'after every expiry: none')
  const bad = await report(ctx, `groups/${OPENSOURCE}/personal_access_tokens/legacy_report?cutoff=2026-02-30`, BOB)
  t.equal(bad.statusCode, 400, 'a cut-off that is not a date')

  // A subgroup's cut-off is its top-level group's; its tokens are those reaching it.
  await ctx.app.inject({ method: 'PUT', url: `/api/v4/groups/${ACME}/personal_access_token_policy`, headers: await asUser(ctx, ADMIN), payload: { enforce_fine_grained_from: inDays(30) } })
  const platform = (await report(ctx, `groups/${PLATFORM}/personal_access_tokens/legacy_report`)).json() as ReportJson
  t.same(platform.tokens.map((x) => x.id).sort((x, y) => x - y), [a1.id, a2.id, a3.id, b1.id], 'alice (member of acme above) and bob (member of platform)')
  t.match(platform.summary, { group_id: PLATFORM, enforcement_date: inDays(30), cutoff_source: 'group_policy', would_stop_working: 2 })

  // The instance's cut-off for administrators.
  await ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, ADMIN), payload: { legacy_tokens_blocked_from: inDays(250) } })
  t.match(((await report(ctx, 'admin/personal_access_tokens/legacy_report')).json() as ReportJson).summary, {
    enforcement_date: inDays(250), cutoff_source: 'instance_settings', would_stop_working: 2, // b1 and carol's expire after day 250
  })
  // The instance's count comes from the count buckets, corrected for conversions: a3 expires after
  // day 100 but its grace ends before, so it stops then as a2 does (expired); a1, b1, carol's remain.
  t.match(((await report(ctx, `admin/personal_access_tokens/legacy_report?cutoff=${inDays(100)}`)).json() as ReportJson).summary, {
    cutoff: inDays(100), cutoff_source: 'query', would_stop_working: 3,
  }, 'a token whose conversion grace ends before the cut-off stops working')

  // A PAT of a group owner needs the group's read permission, as the inventory asks.
  const bobsToken = await createToken(ctx, BOB, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  const viaPat = await ctx.app.inject({ url: `/api/v4/groups/${OPENSOURCE}/personal_access_tokens/legacy_report`, headers: { 'private-token': bobsToken.token! } })
  t.equal(viaPat.statusCode, 403)
  t.equal(viaPat.json().code, 'insufficient_scope')
})
