// Usage retention: token_usage_daily rows older than USAGE_RETENTION_DAYS go, in small batches so
// no single statement holds locks (or bloats WAL) for long.
import { sql } from 'kysely'
import type { Db } from '../db/index.js'
import { addDays, type Clock, utcDate } from '../domain/dates.js'
import { usageRowsPruned } from './metrics.js'

export const RETENTION_BATCH = 10_000

export interface RetentionResult {
  deleted: number
  /** Set when there was nothing to prune from (the usage table is not migrated yet). */
  skipped?: string
}

export async function pruneUsage(db: Db, clock: Clock, retentionDays: number, batchSize = RETENTION_BATCH): Promise<RetentionResult> {
  // The table arrives with another migration; until then the job is a harmless no-op.
  const { rows } = await sql<{ present: boolean }>`select to_regclass('token_usage_daily') is not null as present`.execute(db)
  if (!rows[0]?.present) return { deleted: 0, skipped: 'token_usage_daily does not exist' }
  const cutoff = addDays(utcDate(clock()), -retentionDays)
  let deleted = 0
  for (;;) {
    const result = await sql`
      delete from token_usage_daily
      where ctid = any(array(select ctid from token_usage_daily where day < ${cutoff}::date limit ${batchSize}))
    `.execute(db)
    const n = Number(result.numAffectedRows ?? 0)
    deleted += n
    usageRowsPruned.inc(n)
    if (n < batchSize) return { deleted }
  }
}
