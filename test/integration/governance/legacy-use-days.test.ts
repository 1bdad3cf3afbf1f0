// The instance legacy report counts "used in the last 30 days" from pat_legacy_use_days (migration
// 0020: non-revoked legacy tokens by day of last use, with their expiry only when it is near), not
// from the tokens. These tests hold that count to the slow one, straight from personal_access_tokens,
// for today and for later days (the expiry cap is what keeps a later "today" exact), after every kind
// of change, after folding (which drops days no report reads) and after a truncation; and they hold
// both reports, instance and group, to the same whole-day window.
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { compactLegacyDays } from '../../../src/jobs/inventory-counts.js'
import { MIN_ALLOWED_DECISIONS, MIN_DAYS } from '../../../src/domain/recommend-evidence.js'
import { DEFAULT_WINDOW_DAYS } from '../../../src/modules/tokens/recommendation.js'

/** What fgpat_legacy_summary says is recent, and what counting the tokens says. */
async function recent(ctx: TestContext, today: string, recentFrom: string) {
  const { rows } = await sql<{ fast: string; slow: string }>`
    select (select recent from fgpat_legacy_summary(null, null, ${today}::date, ${recentFrom}::date, null, ${today}::date, 1, 1)) as fast,
      (select count(*) from personal_access_tokens where kind = 'legacy' and revoked_at is null
        and (expires_at is null or expires_at > ${today}::date) and last_used_at >= ${recentFrom}::date::timestamp at time zone 'UTC') as slow`.execute(ctx.app.db)
  return { fast: Number(rows[0].fast), slow: Number(rows[0].slow) }
}

// Today, and later days up to the longest window the function accepts (31 days back).
const DAYS = [0, 1, 10, 25, 31]

async function agree(t: Test, ctx: TestContext, when: string) {
  for (const ahead of DAYS) {
    for (const back of [29, 31]) {
      const today = inDays(ahead)
      const counts = await recent(ctx, today, inDays(ahead - back))
      t.equal(counts.fast, counts.slow, `${when}: today ${today}, from ${back} days back (${counts.slow} tokens)`)
    }
  }
}

const rowsOf = async (ctx: TestContext) => Number((await sql<{ n: string }>`select count(*) as n from pat_legacy_use_days`.execute(ctx.app.db)).rows[0].n)

/** What fgpat_legacy_summary says has a proposal (from proposal_until), and what grouping the usage says. */
async function proposals(ctx: TestContext, today: string) {
  const from = new Date(Date.parse(today) - 29 * 86_400_000).toISOString().slice(0, 10)
  const { rows } = await sql<{ fast: string; slow: string }>`
    select (select proposals from fgpat_legacy_summary(null, null, ${today}::date, ${today}::date, null, ${from}::date, 10, 2)) as fast,
      (select count(*) from (
        select u.token_id from token_usage_daily u join personal_access_tokens t on t.id = u.token_id
        where u.day >= ${from}::date and t.kind = 'legacy' and t.revoked_at is null and (t.expires_at is null or t.expires_at > ${today}::date)
        group by u.token_id having sum(u.allowed) >= 10 and count(distinct u.day) filter (where u.allowed > 0) >= 2) e) as slow`.execute(ctx.app.db)
  return { fast: Number(rows[0].fast), slow: Number(rows[0].slow) }
}

async function proposalsAgree(t: Test, ctx: TestContext, when: string) {
  for (const ahead of [0, 1, 7, 20, 28, 29, 30, 40]) {
    const counts = await proposals(ctx, inDays(ahead))
    t.equal(counts.fast, counts.slow, `${when}: proposals on ${inDays(ahead)} (${counts.slow} tokens)`)
  }
}

t.test('recent use by day follows every change to the tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  // Straight into the table, as a bulk load would: used up to 44 days ago (some never, some "in the
  // future" by a skewed clock), expiring from 15 days ago to 55 days ahead or never, some revoked,
  // some fine-grained (never counted).
  await sql`insert into personal_access_tokens (user_id, name, kind, scopes, token_digest, token_hint, expires_at, created_by, revoked_at, last_used_at)
    select ${BOB}::bigint, 'bulk', case when i % 8 = 0 then 'fine_grained' else 'legacy' end, case when i % 8 = 0 then '{}'::text[] else '{api}' end,
      sha256(convert_to('use-days-' || i, 'utf8')), 'glpat-xxxx',
      case when i % 13 = 0 then null else current_date + (i % 71) - 15 end, 'test',
      case when i % 9 = 0 then now() end,
      case when i % 10 = 0 then null when i % 97 = 0 then now() + interval '2 hours' else now() - (i % 45) * interval '1 day' - (i % 24) * interval '1 hour' end
    from generate_series(1, 600) i`.execute(ctx.app.db)
  const api = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'], expires_at: inDays(20) })
  await agree(t, ctx, 'after creation')

  await sql`update personal_access_tokens set last_used_at = now() where id = ${api.id}`.execute(ctx.app.db)
  await sql`update personal_access_tokens set last_used_at = now() where name = 'bulk' and id % 4 = 0`.execute(ctx.app.db)
  await sql`update personal_access_tokens set expires_at = expires_at + 30 where name = 'bulk' and id % 5 = 0`.execute(ctx.app.db)
  await sql`update personal_access_tokens set expires_at = current_date + 3 where name = 'bulk' and id % 7 = 0`.execute(ctx.app.db)
  await sql`update personal_access_tokens set revoked_at = now() where name = 'bulk' and id % 6 = 0 and revoked_at is null`.execute(ctx.app.db)
  await sql`update personal_access_tokens set kind = 'fine_grained', scopes = '{}' where name = 'bulk' and id % 17 = 0`.execute(ctx.app.db)
  await sql`delete from personal_access_tokens where name = 'bulk' and id % 11 = 0`.execute(ctx.app.db)
  const headers = await asUser(ctx, ALICE)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${api.id}`, headers })).statusCode, 204)
  await agree(t, ctx, 'after use, expiry edits, revokes, kind changes and deletes')

  const before = await rowsOf(ctx)
  const folded = await compactLegacyDays(ctx.app.db, inDays(0))
  t.equal(folded.rowsBefore, before)
  t.ok(folded.rowsAfter < before, `deltas folded: ${before} → ${folded.rowsAfter} rows`)
  const { rows: oldest } = await sql<{ d: string | null }>`select min(used_on)::text as d from pat_legacy_use_days`.execute(ctx.app.db)
  t.ok(oldest[0].d! >= inDays(-40), `days older than 40 are dropped (oldest kept: ${oldest[0].d})`)
  await agree(t, ctx, 'after folding')
  t.same(await compactLegacyDays(ctx.app.db, inDays(0)), { rowsBefore: folded.rowsAfter, rowsAfter: folded.rowsAfter }, 'folding twice changes nothing')

  await sql`truncate personal_access_tokens cascade`.execute(ctx.app.db)
  t.equal(await rowsOf(ctx), 0, 'a truncation empties the days')
  await agree(t, ctx, 'after truncation')
})

t.test('the summary function refuses a window its expiry cap cannot count exactly', async (t) => {
  const ctx = await build(t)
  await t.rejects(recent(ctx, inDays(0), inDays(-32)), /more than 31 days before/)
  t.same(await recent(ctx, inDays(0), inDays(-31)), { fast: 0, slow: 0 })
})

t.test('both reports count whole UTC days: the first second of the 30th day back counts, the last one before it does not', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const first = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'], expires_at: inDays(200) })
  const before = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'], expires_at: inDays(200) })
  await sql`update personal_access_tokens set last_used_at = ${inDays(-29)}::date::timestamp at time zone 'UTC' where id = ${first.id}`.execute(ctx.app.db)
  await sql`update personal_access_tokens set last_used_at = ${inDays(-29)}::date::timestamp at time zone 'UTC' - interval '1 second' where id = ${before.id}`.execute(ctx.app.db)
  const instance = await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens/legacy_report', headers: await asUser(ctx, ADMIN) })
  const group = await ctx.app.inject({ url: `/api/v4/groups/${OPENSOURCE}/personal_access_tokens/legacy_report`, headers: await asUser(ctx, BOB) })
  for (const [who, res] of [['instance', instance], ['group', group]] as const) {
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json().summary, { total: 2, used_last_30_days: 1 }, `${who} report`)
  }
})

t.test('the migration\'s proposal thresholds are the recommendation\'s (else the report counts from usage, slowly)', async (t) => {
  t.same({ MIN_ALLOWED_DECISIONS, MIN_DAYS, DEFAULT_WINDOW_DAYS }, { MIN_ALLOWED_DECISIONS: 10, MIN_DAYS: 2, DEFAULT_WINDOW_DAYS: 30 },
    'a change here needs a migration replacing pat_proposal_until_refresh and fgpat_legacy_summary (migration 0020)')
})

t.test('"with a proposal" by day follows every write to the usage and to the tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await sql`insert into personal_access_tokens (user_id, name, kind, scopes, token_digest, token_hint, expires_at, created_by)
    select ${BOB}::bigint, 'bulk', case when i % 10 = 0 then 'fine_grained' else 'legacy' end, case when i % 10 = 0 then '{}'::text[] else '{api}' end,
      sha256(convert_to('proposals-' || i, 'utf8')), 'glpat-xxxx', case when i % 7 = 0 then null else current_date + (i % 61) - 5 end, 'test'
    from generate_series(1, 300) i`.execute(ctx.app.db)
  // Usage as the flush writes it (an upsert per token, day, permission and namespace): up to 44 days
  // back, 1 to 3 rows a day, some days with denied decisions only.
  const upsert = (where: ReturnType<typeof sql>, allowed: ReturnType<typeof sql>) => sql`
    insert into token_usage_daily as d (token_id, day, permission, namespace_id, allowed, denied)
    select t.id, current_date - ((t.id * 7 + k * 13) % 45)::int, case when k % 2 = 0 then 'read_code' else 'read_repository' end, 0, ${allowed}, 1
    from personal_access_tokens t, generate_series(1, 3) k where t.name = 'bulk' and ${where}
    on conflict (token_id, day, permission, namespace_id) do update set allowed = d.allowed + excluded.allowed, denied = d.denied + excluded.denied`
  await upsert(sql`t.id % 3 <> 0`, sql`((t.id + k) % 6)`).execute(ctx.app.db)
  await proposalsAgree(t, ctx, 'after the first usage')
  const { rows: held } = await sql<{ n: string }>`select count(*) as n from personal_access_tokens where proposal_until is not null`.execute(ctx.app.db)
  t.ok(Number(held[0].n) > 20, `${held[0].n} tokens have a proposal_until`)

  await upsert(sql`t.id % 2 = 0`, sql`k * 2`).execute(ctx.app.db)
  await proposalsAgree(t, ctx, 'after more usage on days already written (updates) and new ones')
  await sql`delete from token_usage_daily where token_id % 5 = 0 and day >= current_date - 10`.execute(ctx.app.db)
  await proposalsAgree(t, ctx, 'after deleting recent usage')
  await sql`update personal_access_tokens set revoked_at = now() where name = 'bulk' and id % 4 = 0`.execute(ctx.app.db)
  await sql`update personal_access_tokens set expires_at = current_date + 3 where name = 'bulk' and id % 9 = 0`.execute(ctx.app.db)
  await sql`update personal_access_tokens set expires_at = current_date where name = 'bulk' and id % 11 = 0`.execute(ctx.app.db)
  await sql`delete from personal_access_tokens where name = 'bulk' and id % 13 = 0`.execute(ctx.app.db)
  await proposalsAgree(t, ctx, 'after revokes, expiry edits and deletes')

  await compactLegacyDays(ctx.app.db, inDays(0))
  const { rows: oldest } = await sql<{ d: string | null }>`select min(until)::text as d from pat_legacy_proposal_days`.execute(ctx.app.db)
  t.ok(oldest[0].d === null || oldest[0].d >= inDays(-1), `days before yesterday are dropped (oldest kept: ${oldest[0].d})`)
  await proposalsAgree(t, ctx, 'after folding')

  await sql`truncate token_usage_daily`.execute(ctx.app.db)
  const { rows: none } = await sql<{ n: string }>`select count(*) as n from personal_access_tokens where proposal_until is not null`.execute(ctx.app.db)
  t.equal(Number(none[0].n), 0, 'truncating the usage clears proposal_until')
  await proposalsAgree(t, ctx, 'after truncating the usage')
})
