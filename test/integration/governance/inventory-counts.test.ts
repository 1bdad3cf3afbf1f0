// The summary's bucket counts (pat_inventory_counts, kept by triggers) agree with counting the
// tokens themselves after every kind of change: API writes, direct SQL, folding, truncation. And the
// permissions column the permission filter reads follows every scope change.
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ADMIN, ALICE, API_PROJECT, asUser, BOB, CLI_PROJECT, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { compactInventoryCounts } from '../../../src/jobs/inventory-counts.js'
import { ok, putInstance } from './helpers.js'

const FILTERS = ['', 'kind=legacy', 'kind=fine_grained&state=active', 'state=active', 'state=expired', 'state=revoked', `expires_before=${inDays(30)}`, 'never_used=true']

/** The summary computed the slow way, straight from personal_access_tokens. */
async function oracle(ctx: TestContext, query: string) {
  const q = new URLSearchParams(query)
  const today = inDays(0)
  const active = sql`revoked_at is null and (expires_at is null or expires_at > ${today}::date)`
  const where = [sql`true`]
  if (q.get('kind')) where.push(sql`kind = ${q.get('kind')}`)
  if (q.get('state') === 'active') where.push(active)
  if (q.get('state') === 'revoked') where.push(sql`revoked_at is not null`)
  if (q.get('state') === 'expired') where.push(sql`revoked_at is null and expires_at <= ${today}::date`)
  if (q.get('expires_before')) where.push(sql`expires_at < ${q.get('expires_before')}::date`)
  if (q.get('never_used')) where.push(sql`last_used_at is null`)
  const { rows } = await sql<Record<string, string>>`
    select count(*) as total, count(*) filter (where kind = 'fine_grained') as fine_grained, count(*) filter (where kind = 'legacy') as legacy,
      count(*) filter (where ${active}) as active, count(*) filter (where revoked_at is not null) as revoked,
      count(*) filter (where revoked_at is null and expires_at <= ${today}::date) as expired,
      count(*) filter (where ${active} and expires_at <= ${inDays(7)}::date) as e7, count(*) filter (where ${active} and expires_at <= ${inDays(30)}::date) as e30,
      count(*) filter (where ${active} and last_used_at is null) as never_used, count(*) filter (where ${active} and kind = 'legacy' and 'api' = any(scopes)) as api
    from personal_access_tokens where ${sql.join(where, sql` and `)}`.execute(ctx.app.db)
  const n = Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v)]))
  return {
    total: n.total, by_kind: { fine_grained: n.fine_grained, legacy: n.legacy }, by_state: { active: n.active, revoked: n.revoked, expired: n.expired },
    expiring_within_7_days: n.e7, expiring_within_30_days: n.e30, never_used: n.never_used, legacy_with_api: n.api,
  }
}

async function agree(t: Test, ctx: TestContext, when: string) {
  for (const query of FILTERS) {
    const summary = await ok(ctx.app.inject({ url: `/api/v4/admin/personal_access_tokens/summary?${query}`, headers: await asUser(ctx, ADMIN) }))
    t.same(summary, await oracle(ctx, query), `${when}: summary?${query}`)
  }
}

async function bucketRows(ctx: TestContext) {
  const { rows } = await sql<{ n: string }>`select count(*) as n from pat_inventory_counts`.execute(ctx.app.db)
  return Number(rows[0].n)
}

const permissionsOf = async (ctx: TestContext, id: number) =>
  (await ctx.app.db.selectFrom('personal_access_tokens').select('permissions').where('id', '=', id).executeTakeFirstOrThrow()).permissions

t.test('bucket counts follow every change to the tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { require_expiry: false }))
  const soon = await createToken(ctx, ALICE, { expires_at: inDays(5) })
  const later = await createToken(ctx, BOB, { expires_at: inDays(60), granular_scopes: [{ access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code'] }] })
  const api = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'] })
  await createToken(ctx, BOB, { granular_scopes: undefined, scopes: ['read_api'] })
  const forever = await createToken(ctx, ALICE, { expires_at: null })
  // Straight into the table, as a bulk load would: some already expired, some revoked, some used.
  await sql`insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, expires_at, created_by, revoked_at, last_used_at)
    select ${BOB}::bigint, 'bulk', 'fine_grained', sha256(convert_to('counts-' || i, 'utf8')), 'fgpat-xxxx', current_date + (i % 90) - 20, 'test',
      case when i % 7 = 0 then now() end, case when i % 3 = 0 then now() end
    from generate_series(1, 300) i`.execute(ctx.app.db)
  await agree(t, ctx, 'after creation')

  const headers = await asUser(ctx, ALICE)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${soon.id}`, headers })).statusCode, 204)
  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${later.id}/rotate`, headers: await asUser(ctx, BOB), payload: { expires_at: inDays(3) } })
  t.equal(rotated.statusCode, 200, rotated.body)
  t.equal((await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${forever.id}`, headers, payload: { expires_at: inDays(20) } })).statusCode, 200)
  await sql`update personal_access_tokens set last_used_at = now() where id = ${api.id}`.execute(ctx.app.db)
  await sql`update personal_access_tokens set expires_at = expires_at + 40 where name = 'bulk' and id % 5 = 0`.execute(ctx.app.db)
  await sql`delete from personal_access_tokens where name = 'bulk' and id % 11 = 0`.execute(ctx.app.db)
  await agree(t, ctx, 'after revoke, rotate, edit, use, bulk update and delete')

  const before = await bucketRows(ctx)
  const folded = await compactInventoryCounts(ctx.app.db)
  t.equal(folded.rowsBefore, before)
  t.ok(folded.rowsAfter < before, `deltas folded: ${before} → ${folded.rowsAfter} rows`)
  t.equal(await bucketRows(ctx), folded.rowsAfter)
  await agree(t, ctx, 'after folding')
  t.same(await compactInventoryCounts(ctx.app.db), { rowsBefore: folded.rowsAfter, rowsAfter: folded.rowsAfter }, 'folding twice changes nothing')

  await sql`truncate personal_access_tokens cascade`.execute(ctx.app.db)
  t.equal(await bucketRows(ctx), 0, 'a truncation empties the buckets')
  await agree(t, ctx, 'after truncation')
})

t.test('the permissions column follows the scopes, and the permission filter reads it', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, {
    granular_scopes: [
      { access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] },
      { access: 'user', permissions: ['read_user'] },
    ],
  })
  t.same(await permissionsOf(ctx, token.id), ['push_code', 'read_code', 'read_user'], 'distinct, sorted, from every scope')
  const holders = async (permission: string) =>
    ((await ok<TokenJson[]>(ctx.app.inject({ url: `/api/v4/admin/personal_access_tokens?permission=${permission}`, headers: await asUser(ctx, ADMIN) })))).map((x) => x.id)
  t.same(await holders('push_code'), [token.id])

  const edit = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_issue'] }] } })
  t.equal(edit.statusCode, 200, edit.body)
  t.same(await permissionsOf(ctx, token.id), ['read_issue'])
  t.same(await holders('push_code'), [], 'no longer listed for what it lost')
  t.same(await holders('read_issue'), [token.id])

  await sql`delete from personal_access_token_scopes where token_id = ${token.id}`.execute(ctx.app.db)
  t.same(await permissionsOf(ctx, token.id), [], 'scopes removed by any writer (here a direct delete, as a namespace cascade does)')
})
