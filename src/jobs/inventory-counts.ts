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
