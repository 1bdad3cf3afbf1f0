// The webhook half of the outbox reconciler (outbox-reconciler.ts explains the problem): a
// webhook_deliveries row is the truth that a receiver is owed a POST, its BullMQ job only the
// means. The job is enqueued before the outbox transaction commits; Redis can lose it afterwards (a
// crash of a Redis that keeps nothing on disk, a failover to a lagging replica, an eviction), and
// the row would stay `pending` until somebody pressed "redeliver".
//
// So: a delivery still `pending`, whose last attempt (or creation) is older than
// OUTBOX_REDISPATCH_AFTER and which is younger than the reconcile window, gets its job again when
// the job for its current round is gone from the queue, under the same jobId (so the outbox's own
// enqueue, or another worker's reconciler, cannot make a second job) and so with the same
// webhook-id (messageId is per event and endpoint): a receiver that did get the first POST
// de-duplicates on it. A job that exists in any state — waiting, delayed for its backoff, active,
// failed for good — is left alone: the delivery log shows a failure, and redelivering it is the
// owner's decision. A row is `pending` only until its job's last attempt ends, so the rows walked
// are few; migration 0015 gives them a partial index.
import type { Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import type { Db } from '../db/index.js'
import { webhooksRedispatched } from './metrics.js'
import { RECONCILE_WINDOW_MS } from './outbox-reconciler.js'
import type { RetryPolicy } from './queues.js'
import { deliveryJobId, type WebhookJobData, webhookJobOptions } from './webhooks.js'

const BATCH = 500

export interface WebhookReconcileResult {
  /** Pending deliveries old enough whose queue was asked about them. */
  checked: number
  redispatched: number
}

export class WebhookReconciler {
  private running: Promise<WebhookReconcileResult> | undefined

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<WebhookJobData>,
    private readonly opts: { redispatchAfterMs: number; retry: RetryPolicy; log: Logger },
  ) {}

  /** Resolves when no pass is running (a close waits for the one in flight). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined)
  }

  /** One pass over the pending deliveries; a pass already running is joined, not doubled. */
  run(): Promise<WebhookReconcileResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined))
    return this.running
  }

  private async pass(): Promise<WebhookReconcileResult> {
    const result: WebhookReconcileResult = { checked: 0, redispatched: 0 }
    for (let after = 0; ;) {
      const { rows } = await sql<{ id: number; redeliveries: number }>`
        select id, redeliveries from webhook_deliveries
        where status = 'pending' and id > ${after}
          and coalesce(last_attempt_at, created_at) < now() - make_interval(secs => ${this.opts.redispatchAfterMs / 1000})
          and created_at > now() - make_interval(secs => ${RECONCILE_WINDOW_MS / 1000})
        order by id
        limit ${BATCH}`.execute(this.db)
      for (const row of rows) {
        result.checked++
        const jobId = deliveryJobId(row.id, row.redeliveries)
        if (await this.queue.getJob(jobId)) continue
        await this.queue.add('deliver', { kind: 'deliver', deliveryId: row.id }, { ...webhookJobOptions(this.opts.retry), jobId })
        result.redispatched++
      }
      if (rows.length < BATCH) break
      after = rows[rows.length - 1]!.id
    }
    if (result.redispatched > 0) {
      webhooksRedispatched.inc(result.redispatched)
      this.opts.log.warn({ redispatched: result.redispatched }, 'pending webhook deliveries had no job left in Redis: enqueued again')
    }
    return result
  }
}
