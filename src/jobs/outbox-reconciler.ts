// The outbox reconciler: PostgreSQL, not Redis, is the truth for what must be sent.
//
// The dispatcher marks an event dispatched once its jobs are in Redis. If Redis then loses them —
// a crash of a Redis that keeps nothing on disk, the last second of an append-only file, a failover
// to a lagging replica, an eviction — the event says "dispatched" and no mail ever leaves. So: an
// event dispatched more than OUTBOX_REDISPATCH_AFTER ago that has no notification_deliveries row
// (sent or skipped) and whose job no longer exists in its queue gets that job again, under the same
// jobId. Nothing is sent twice: the jobId de-duplicates while a job exists, and the deliveries row,
// claimed in the transaction that sends, stops any later job. A job that exists in any state
// (waiting, delayed for a retry, active, failed for good) is left alone: a failed mail is the
// operator's to retry, not ours to re-send.
//
// Bounded: events of the last RECONCILE_WINDOW_MS only (shorter than failed jobs are kept, 30 days,
// so a mail that failed for good is always still seen as failed), walked in id order from a cursor
// in batches (primary key, plus one lookup per event in the deliveries' primary key; no new index).
// The cursor never passes an event not yet dispatched or dispatched too recently. It lives in
// memory: a worker that starts, or whose Redis connection comes back (a restart, a failover),
// walks the window again from its start, and so does every worker once an hour.
//
// Known limit: an event whose transaction stayed open for longer than OUTBOX_REDISPATCH_AFTER
// before committing can be passed by a running reconciler (its id is lower than ones already
// settled); the next full walk (hourly, or a restart) finds it.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import type { Db } from '../db/index.js'
import { NOTIFYING_ACTIONS } from '../mail/messages.js'
import { outboxRedispatched } from './metrics.js'
import { notificationsFor } from './outbox.js'
import { type MailJobData, mailJobId, mailJobOptions, type RetryPolicy } from './queues.js'

export const RECONCILE_WINDOW_MS = 7 * 86_400_000
export const FULL_WALK_EVERY_MS = 3_600_000
const BATCH = 500

export interface ReconcileResult {
  /** Dispatched events without a delivery whose queue was asked about them. */
  checked: number
  redispatched: number
}

interface EventRow {
  id: number
  action: string
  settled_for_now: boolean
  delivered: string[] | null
}

export class OutboxReconciler {
  private cursor: number | undefined
  private lastFullWalk = 0
  private running: Promise<ReconcileResult> | undefined

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<MailJobData>,
    private readonly opts: { redispatchAfterMs: number; retry: RetryPolicy; log: Logger },
  ) {}

  /** Walk the whole window again at the next run (after Redis came back: it may have lost jobs). */
  walkAgain(): void {
    this.cursor = undefined
  }

  /** Resolves when no pass is running (a close waits for the one in flight). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined)
  }

  /** One pass up to the newest event old enough; a pass already running is joined, not doubled. */
  run(): Promise<ReconcileResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined))
    return this.running
  }

  private async pass(): Promise<ReconcileResult> {
    if (Date.now() - this.lastFullWalk > FULL_WALK_EVERY_MS) this.cursor = undefined
    if (this.cursor === undefined) {
      this.lastFullWalk = Date.now()
      this.cursor = await this.windowStart()
    }
    const result: ReconcileResult = { checked: 0, redispatched: 0 }
    let cursor = this.cursor
    for (;;) {
      const rows = await this.nextEvents(cursor)
      // Not dispatched yet, or too recently (the dispatcher or the job may still be on it): the
      // walk stops there, and so does the cursor.
      const horizon = rows.findIndex((row) => !row.settled_for_now)
      const settled = horizon === -1 ? rows : rows.slice(0, horizon)
      for (const row of settled) {
        for (const kind of notificationsFor(row.action)) {
          if ((row.delivered ?? []).includes(kind)) continue
          result.checked++
          if (await this.redispatchIfJobVanished(row.id, kind)) result.redispatched++
        }
      }
      // Only once the batch is handled: a Redis error above leaves it to the next pass.
      if (settled.length > 0) cursor = this.cursor = settled[settled.length - 1]!.id
      if (horizon !== -1 || rows.length < BATCH) break
    }
    if (result.redispatched > 0) {
      outboxRedispatched.inc(result.redispatched)
      this.opts.log.warn({ redispatched: result.redispatched }, 'dispatched events had no delivery and no job left in Redis: dispatched again')
    }
    return result
  }

  /** The id just before the first event of the window (audit_events_occurred serves it). */
  private async windowStart(): Promise<number> {
    const first = await this.db
      .selectFrom('audit_events')
      .select('id')
      .where('occurred_at', '>=', new Date(Date.now() - RECONCILE_WINDOW_MS))
      .orderBy('occurred_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst()
    if (first) return first.id - 1
    const last = await this.db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
    return Number(last?.id ?? 0)
  }

  private async nextEvents(after: number): Promise<EventRow[]> {
    const { rows } = await sql<EventRow>`
      select e.id, e.action,
        e.dispatched_at is not null and e.dispatched_at < now() - make_interval(secs => ${this.opts.redispatchAfterMs / 1000}) as settled_for_now,
        case when e.action = any(${sql.val([...NOTIFYING_ACTIONS])}::text[])
          then array(select d.kind from notification_deliveries d where d.event_id = e.id) end as delivered
      from audit_events e
      where e.id > ${after}
      order by e.id
      limit ${BATCH}
    `.execute(this.db)
    return rows
  }

  private async redispatchIfJobVanished(eventId: number, kind: ReturnType<typeof notificationsFor>[number]): Promise<boolean> {
    const jobId = mailJobId(eventId, kind)
    if (await this.queue.getJob(jobId)) return false
    // Same jobId: if a job appeared meanwhile (another worker's reconciler), this add is a no-op.
    await this.queue.add('send', { eventId, kind }, { ...mailJobOptions(this.opts.retry), jobId })
    return true
  }
}
