// The inventory summary: counts by kind, state, expiry window, never used, legacy with api.
//
// Two sources, one set of sums. Filters that only look at kind, state, expiry and "never used" are
// answered from pat_inventory_counts (migration 0005): token counts per bucket, kept exact by
// triggers, a few thousand rows however many tokens there are. Any other filter (a user, a group's
// reach, a permission, last use, a name search) narrows the tokens themselves, which the indexes make cheap.
import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { type InventoryFilters, inventoryWhere } from './repository.js'

export type SummaryCounts = Record<
  'total' | 'fine_grained' | 'legacy' | 'active' | 'revoked' | 'expired' | 'expiring_7' | 'expiring_30' | 'never_used' | 'legacy_with_api',
  number
>

/** Whether the buckets of pat_inventory_counts can answer these filters exactly. */
export const bucketsAnswer = (f: InventoryFilters) =>
  f.groupId === undefined && f.reachesTraversal === undefined && f.userId === undefined && f.lastUsedBefore === undefined && f.permission === undefined &&
  f.search === undefined

/** The buckets matching the filters: (kind, revoked, expires_on, never_used, legacy_api, tokens). */
function fromBuckets(f: InventoryFilters, today: string): RawBuilder<unknown> {
  const and: RawBuilder<unknown>[] = [sql`true`]
  if (f.kind) and.push(sql`kind = ${f.kind}`)
  if (f.state === 'revoked') and.push(sql`revoked`)
  if (f.state === 'expired') and.push(sql`not revoked and expires_on <= ${today}::date`)
  if (f.state === 'active') and.push(sql`not revoked and expires_on > ${today}::date`)
  if (f.expiresBefore) and.push(sql`expires_on < ${f.expiresBefore}::date`)
  if (f.neverUsed) and.push(sql`never_used`)
  return sql`select kind, revoked, expires_on, never_used, legacy_api, tokens from pat_inventory_counts where ${sql.join(and, sql` and `)}`
}

/** The same columns, one row per matching token. */
function fromTokens(db: Db, f: InventoryFilters, today: string) {
  return db.selectFrom('personal_access_tokens').where(inventoryWhere(f, today)).select([
    'kind',
    sql`revoked_at is not null`.as('revoked'),
    sql`coalesce(expires_at, 'infinity'::date)`.as('expires_on'),
    sql`last_used_at is null`.as('never_used'),
    sql`kind = 'legacy' and 'api' = any(scopes)`.as('legacy_api'),
    sql`1`.as('tokens'),
  ])
}

export async function summarizeInventory(db: Db, f: InventoryFilters, today: string, in7: string, in30: string): Promise<SummaryCounts> {
  const source = bucketsAnswer(f) ? fromBuckets(f, today) : fromTokens(db, f, today)
  const active = sql`not revoked and expires_on > ${today}::date`
  const { rows } = await sql<Record<keyof SummaryCounts, string | null>>`
    select sum(tokens) as total,
      sum(tokens) filter (where kind = 'fine_grained') as fine_grained,
      sum(tokens) filter (where kind = 'legacy') as legacy,
      sum(tokens) filter (where ${active}) as active,
      sum(tokens) filter (where revoked) as revoked,
      sum(tokens) filter (where not revoked and expires_on <= ${today}::date) as expired,
      sum(tokens) filter (where ${active} and expires_on <= ${in7}::date) as expiring_7,
      sum(tokens) filter (where ${active} and expires_on <= ${in30}::date) as expiring_30,
      sum(tokens) filter (where ${active} and never_used) as never_used,
      sum(tokens) filter (where ${active} and legacy_api) as legacy_with_api
    from (${source}) counted`.execute(db)
  return Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v ?? 0)])) as SummaryCounts
}
