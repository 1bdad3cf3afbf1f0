// The outbox dispatcher: audit_events rows not yet dispatched become mail jobs.
//
// One transaction per batch: claim rows (FOR UPDATE SKIP LOCKED, so several workers split the
// work instead of queueing behind each other), enqueue their jobs, mark the rows dispatched,
// commit. A crash before the commit leaves the rows undispatched; the next run enqueues them again
// under the same jobIds, which BullMQ ignores while the first jobs are kept, and which the
// deliveries table turns into no-ops after that. A crash before the enqueue loses nothing either.
//
// Polling, not LISTEN/NOTIFY: mail tolerates a second of latency; one indexed query per second
// (audit_events_undispatched is a partial index) costs nothing; polling needs no dedicated
// connection (works behind a transaction-mode pooler), no trigger in the hot write path, and
// cannot miss a notification while reconnecting. A full batch is followed at once by the next.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import type { Db } from '../db/index.js'
import { APPROVER_ACTIONS, NOTIFYING_ACTIONS } from '../mail/messages.js'
import { outboxDispatched } from './metrics.js'
import { type MailJobData, mailJobId, type NotificationKind, type RetryPolicy, mailJobOptions } from './queues.js'
import { fanOutWebhooks, type WebhookFanOut } from './webhooks.js'

export const OUTBOX_BATCH = 500

/** Which notifications an action produces. Other events (directory sync…) are only marked. */
export function notificationsFor(action: string): NotificationKind[] {
  if (APPROVER_ACTIONS.includes(action)) return ['approvers_mail']
  return NOTIFYING_ACTIONS.includes(action) ? ['owner_mail'] : []
}

export interface DispatchOptions {
  batchSize?: number
  retry: RetryPolicy
  /** Webhook deliveries for the same events, in the same transaction (src/jobs/webhooks.ts). */
  webhooks?: WebhookFanOut
  /** Tests: fail after the jobs are enqueued and before the rows are marked (a crash). */
  afterEnqueue?: () => Promise<void>
}

export interface DispatchResult {
  claimed: number
  enqueued: number
}

export async function dispatchOutbox(db: Db, queue: Queue<MailJobData>, opts: DispatchOptions): Promise<DispatchResult> {
  const batchSize = opts.batchSize ?? OUTBOX_BATCH
  const result = await db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('audit_events')
      .select(['id', 'action', 'target_id'])
      .where('dispatched_at', 'is', null)
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .skipLocked()
      .execute()
    if (rows.length === 0) return { claimed: 0, enqueued: 0 }
    const jobs = rows.flatMap((row) =>
      notificationsFor(row.action).map((kind) => ({
        name: 'send',
        data: { eventId: row.id, kind },
        opts: { ...mailJobOptions(opts.retry), jobId: mailJobId(row.id, kind) },
      })),
    )
    if (jobs.length > 0) await queue.addBulk(jobs)
    const hooked = opts.webhooks ? await fanOutWebhooks(trx, rows, opts.webhooks) : 0
    await opts.afterEnqueue?.()
    await trx
      .updateTable('audit_events')
      .set({ dispatched_at: sql`now()` })
      .where('id', 'in', rows.map((r) => r.id))
      .execute()
    return { claimed: rows.length, enqueued: jobs.length + hooked }
  })
  outboxDispatched.inc(result.claimed)
  return result
}

/**
 * Runs the dispatcher every `intervalMs` (null: only when kicked, for tests that must control
 * when events are claimed), straight again after a full batch; stop() waits for a run in flight.
 */
export class OutboxPoller {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly dispatch: () => Promise<DispatchResult>,
    private readonly intervalMs: number | null,
    private readonly log: Logger,
    private readonly batchSize = OUTBOX_BATCH,
  ) {}

  start(): void {
    if (this.intervalMs !== null) this.schedule(0)
  }

  /**
   * Dispatch now (after the sweep wrote events, or from tests) instead of at the next tick. Runs
   * are chained, so a kick during a run still sees every event committed before the kick.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    clearTimeout(this.timer)
    const next = (this.running ?? Promise.resolve()).then(() => (this.stopped ? undefined : this.drain()))
    this.running = next
    void next.finally(() => {
      if (this.running !== next) return
      this.running = undefined
      if (!this.stopped && this.intervalMs !== null) this.schedule(this.intervalMs)
    })
    return next
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.kick(), ms)
    this.timer.unref()
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped) {
        const { claimed } = await this.dispatch()
        if (claimed < this.batchSize) return
      }
    } catch (err) {
      // PostgreSQL or Redis unavailable: nothing was marked, the next tick tries again.
      this.log.warn({ err: (err as Error).message }, 'outbox dispatch failed; retrying')
    }
  }
}
