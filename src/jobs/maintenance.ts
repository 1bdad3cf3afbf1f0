// The maintenance queue: the expiry sweep (notices, auto-revocation of unused tokens, the end of
// legacy conversions' grace, lapsed approval requests, the daily approval digests, then folding the inventory count deltas) and the usage retention job, each on a BullMQ job scheduler so that
// however many workers run, each interval produces one job.
import type { Queue } from 'bullmq'
import type { CacheKey } from '../cache/policy-cache.js'
import type { Config } from '../config.js'
import type { Db } from '../db/index.js'
import { type Clock, utcDate } from '../domain/dates.js'
import { type DigestResult, sendApprovalDigests } from '../modules/approvals/digest.js'
import { expireLapsedRequests } from '../modules/approvals/service.js'
import { revokeUnusedTokens } from './auto-revoke.js'
import { sweepConversions } from './conversion-sweep.js'
import { type NoticeResult, sendExpiryNotices } from './expiry-sweep.js'
import { compactInventoryCounts, compactLegacyDays } from './inventory-counts.js'
import { EXPIRY_SWEEP, USAGE_RETENTION, USAGE_RETENTION_EVERY_MS } from './queues.js'
import { pruneUsage, type RetentionResult } from './retention.js'

export interface SweepReport extends NoticeResult {
  revokedUnused: number
  /** Converted legacy tokens reminded that their grace ends soon, and revoked because it ended. */
  conversionReminders: number
  revokedConverted: number
  /** Pending approval requests that lapsed (APPROVAL_REQUEST_DAYS) and were marked expired. */
  approvalsExpired: number
  /** Today's approval digests (groups with daily_digest, from APPROVAL_DIGEST_HOUR_UTC): groups done and mails written. */
  approvalDigests: DigestResult
}

export interface MaintenanceDeps {
  db: Db
  config: Readonly<Config>
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
  /** Set when the worker shuts down: long runs stop between batches (they resume next time). */
  signal: AbortSignal
  /** Called after the sweep wrote audit events, so their mails need not wait for the next poll. */
  afterSweep?: () => void
}

export async function runSweep(deps: MaintenanceDeps): Promise<SweepReport> {
  const notices = await sendExpiryNotices({ db: deps.db, clock: deps.clock, signal: deps.signal })
  const unused = notices.aborted
    ? { revoked: 0, aborted: true }
    : await revokeUnusedTokens({ db: deps.db, clock: deps.clock, configuredDays: deps.config.autoRevokeUnusedDays, invalidate: deps.invalidate, signal: deps.signal })
  const conversions = unused.aborted
    ? { reminders: 0, revoked: 0, aborted: true }
    : await sweepConversions({ db: deps.db, clock: deps.clock, invalidate: deps.invalidate, signal: deps.signal })
  const approvalsExpired = conversions.aborted ? 0 : await expireLapsedRequests({ db: deps.db, clock: deps.clock, invalidate: deps.invalidate, signal: deps.signal })
  // After the lapse step, so a digest never lists a request that has just expired.
  const approvalDigests = conversions.aborted
    ? { groups: 0, mails: 0 }
    : await sendApprovalDigests({ db: deps.db, clock: deps.clock, hourUtc: deps.config.approvalDigestHourUtc, signal: deps.signal })
  if (!conversions.aborted) {
    await compactInventoryCounts(deps.db)
    await compactLegacyDays(deps.db, utcDate(deps.clock()))
  }
  deps.afterSweep?.()
  return {
    ...notices, aborted: notices.aborted || unused.aborted || conversions.aborted, revokedUnused: unused.revoked,
    conversionReminders: conversions.reminders, revokedConverted: conversions.revoked, approvalsExpired, approvalDigests,
  }
}

export function runRetention(deps: MaintenanceDeps): Promise<RetentionResult> {
  return pruneUsage(deps.db, deps.clock, deps.config.usageRetentionDays)
}

export function maintenanceProcessor(deps: MaintenanceDeps) {
  return async (job: { name: string }): Promise<SweepReport | RetentionResult> => {
    if (job.name === EXPIRY_SWEEP) return await runSweep(deps)
    if (job.name === USAGE_RETENTION) return await runRetention(deps)
    throw new Error(`unknown maintenance job "${job.name}"`)
  }
}

/** Idempotent: every worker start upserts the same schedulers (a changed SWEEP_EVERY wins). */
export async function scheduleMaintenance(queue: Queue, config: Readonly<Config>): Promise<void> {
  const keep = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } }
  await queue.upsertJobScheduler(EXPIRY_SWEEP, { every: config.sweepEveryMs }, { name: EXPIRY_SWEEP, opts: keep })
  await queue.upsertJobScheduler(USAGE_RETENTION, { every: USAGE_RETENTION_EVERY_MS }, { name: USAGE_RETENTION, opts: keep })
}
