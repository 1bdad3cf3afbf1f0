// Folds the delta rows the pat_inventory_counts triggers append (migration 0005) into one row per
// bucket, so the inventory summary keeps summing a few thousand rows. One statement: readers see
// the table before or after, never half-folded; deltas committed meanwhile are not in this
// statement's snapshot and stay for the next run, so nothing is lost or counted twice.
import { sql } from 'kysely'
import type { Db } from '../db/index.js'

export async function compactInventoryCounts(db: Db): Promise<{ rowsBefore: number; rowsAfter: number }> {
  const { rows } = await sql<{ before: string; after: string }>`
    with folded as (
      delete from pat_inventory_counts returning *
    ),
    kept as (
      insert into pat_inventory_counts
      select kind, revoked, expires_on, never_used, legacy_api, sum(tokens) from folded
      group by kind, revoked, expires_on, never_used, legacy_api having sum(tokens) <> 0
      returning 1
    )
    select (select count(*) from folded) as before, (select count(*) from kept) as after`.execute(db)
  return { rowsBefore: Number(rows[0].before), rowsAfter: Number(rows[0].after) }
}

/** Days of pat_legacy_use_days no report reads any more (the report reads at most 32 days back) are dropped. */
const LEGACY_USE_DAYS_KEPT = 40

/**
 * The same folding for the legacy report's day tables (migration 0020), which also drops the days
 * no report reads any more: pat_legacy_use_days older than 40 days (a report reads at most 32 days
 * back), pat_legacy_proposal_days before yesterday (a report asks for proposals lasting until today
 * or later). The window only moves forward, so a dropped day is never read again (a later delta
 * for it, a token moving away from it, is dropped by the next fold).
 */
export async function compactLegacyDays(db: Db, today: string): Promise<{ rowsBefore: number; rowsAfter: number }> {
  const { rows } = await sql<{ before: string; after: string }>`
    with folded_use as (
      delete from pat_legacy_use_days returning *
    ),
    kept_use as (
      insert into pat_legacy_use_days
      select used_on, expires_on, sum(tokens) from folded_use
      where used_on >= ${today}::date - ${LEGACY_USE_DAYS_KEPT}::int
      group by used_on, expires_on having sum(tokens) <> 0
      returning 1
    ),
    folded_proposals as (
      delete from pat_legacy_proposal_days returning *
    ),
    kept_proposals as (
      insert into pat_legacy_proposal_days
      select until, expires_on, sum(tokens) from folded_proposals
      where until >= ${today}::date - 1
      group by until, expires_on having sum(tokens) <> 0
      returning 1
    )
    select (select count(*) from folded_use) + (select count(*) from folded_proposals) as before,
      (select count(*) from kept_use) + (select count(*) from kept_proposals) as after`.execute(db)
  return { rowsBefore: Number(rows[0].before), rowsAfter: Number(rows[0].after) }
}
