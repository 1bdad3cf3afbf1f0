// Job metrics on the shared registry (GET /metrics in the API; the standalone worker can serve it
// on WORKER_METRICS_PORT). Metrics are created once per process; queues register while they run.
import type { Queue } from 'bullmq'
import { Counter, Gauge, Histogram } from 'prom-client'
import { registry } from '../metrics/registry.js'

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const
const liveQueues = new Set<Queue>()

export function trackQueue(queue: Queue): () => void {
  liveQueues.add(queue)
  return () => liveQueues.delete(queue)
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms)
    p.then(resolve, reject).finally(() => clearTimeout(timer))
  })
}

export const queueJobs = new Gauge({
  name: 'fgpat_job_queue_jobs',
  help: 'Jobs per queue and state, read from Redis at scrape time (failed = kept after the last retry)',
  labelNames: ['queue', 'state'],
  registers: [registry],
  async collect() {
    const totals = new Map<string, number>()
    for (const queue of liveQueues) {
      try {
        // A scrape must not hang on an unreachable Redis: report nothing for it instead.
        const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), 2000)
        for (const state of QUEUE_STATES) {
          const key = `${queue.name}\u0000${state}`
          totals.set(key, (totals.get(key) ?? 0) + (counts[state] ?? 0))
        }
      } catch {
        // unreachable: skipped this scrape
      }
    }
    this.reset()
    for (const [key, value] of totals) {
      const [queue, state] = key.split('\u0000')
      this.set({ queue, state }, value)
    }
  },
})

export const jobOutcomes = new Counter({
  name: 'fgpat_jobs_total',
  help: 'Job attempts by outcome: completed, retried (failed with attempts left) or failed (after the last attempt)',
  labelNames: ['queue', 'job', 'outcome'],
  registers: [registry],
})

export const jobDuration = new Histogram({
  name: 'fgpat_job_duration_seconds',
  help: 'Time one job attempt took, by queue and job name',
  labelNames: ['queue', 'job'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
})

export const outboxDispatched = new Counter({
  name: 'fgpat_outbox_events_dispatched_total',
  help: 'audit_events rows the outbox dispatcher marked dispatched',
  registers: [registry],
})

export const outboxRedispatched = new Counter({
  name: 'fgpat_outbox_events_redispatched_total',
  help: 'Notification jobs enqueued again because a dispatched event had no delivery and its job had vanished from Redis',
  registers: [registry],
})

export const webhooksRedispatched = new Counter({
  name: 'fgpat_webhook_deliveries_redispatched_total',
  help: 'Webhook delivery jobs enqueued again because a pending delivery\'s job had vanished from Redis',
  registers: [registry],
})

export const notificationsDelivered = new Counter({
  name: 'fgpat_notifications_total',
  help: 'Notification jobs by result: sent, skipped (no usable recipient) or duplicate (already delivered)',
  labelNames: ['kind', 'result'],
  registers: [registry],
})

export const sweepNotices = new Counter({
  name: 'fgpat_expiry_notices_total',
  help: 'Expiry notices written by the sweep, by notice (60, 30, 7 or expired)',
  labelNames: ['notice'],
  registers: [registry],
})

export const tokensAutoRevoked = new Counter({
  name: 'fgpat_tokens_auto_revoked_total',
  help: 'Tokens the sweep revoked because they were unused for longer than allowed',
  registers: [registry],
})

export const usageRowsPruned = new Counter({
  name: 'fgpat_usage_rows_pruned_total',
  help: 'token_usage_daily rows removed by the retention job',
  registers: [registry],
})

export const conversionSweep = new Counter({
  name: 'fgpat_conversion_sweep_total',
  help: 'Converted legacy tokens the sweep handled, by step (reminder: mail a few days before the grace ends; revoked: the grace ended)',
  labelNames: ['step'],
  registers: [registry],
})
