// Jobs entry point (DESIGN §9): the outbox dispatcher, the mail queue and the maintenance queue
// (expiry sweep, usage retention) over BullMQ on the same Redis as the API.
//
//   node dist/src/worker.js      (npm run worker; the compose `worker` service)
//   npm start                    runs it inside the API process (src/cli/start.ts)
//
// Shutdown finishes in-flight jobs (BullMQ's close waits for them) within SHUTDOWN_TIMEOUT; a sweep
// stops between batches.
// If the process is killed instead, its active jobs' locks expire and another worker (or this one
// restarted) takes them up again; notification_deliveries keeps that from sending twice.
import { type Job, Queue, Worker } from 'bullmq'
import { Cluster } from 'ioredis'
import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import { type DestinationStream, type Logger, pino } from 'pino'
import { type CacheKey, PolicyCache } from './cache/policy-cache.js'
import { RedisBreaker } from './cache/redis-breaker.js'
import { createRedis, type RedisClient } from './cache/redis-client.js'
import { type Config, loadConfigOrExit } from './config.js'
import { createDb, type Db } from './db/index.js'
import { migrateDirectly } from './db/migrate.js'
import { type Clock, systemClock } from './domain/dates.js'
import { deliverNotification } from './jobs/mail-job.js'
import { maintenanceProcessor, runRetention, runSweep, scheduleMaintenance, type MaintenanceDeps, type SweepReport } from './jobs/maintenance.js'
import { jobDuration, jobOutcomes, notificationsDelivered, trackQueue } from './jobs/metrics.js'
import { serveMetrics } from './jobs/metrics-server.js'
import { dispatchOutbox, type DispatchOptions, type DispatchResult, OutboxPoller } from './jobs/outbox.js'
import { OutboxReconciler, type ReconcileResult } from './jobs/outbox-reconciler.js'
import { WebhookReconciler, type WebhookReconcileResult } from './jobs/webhook-reconciler.js'
import { connectionOf, DEFAULT_MAIL_RETRY, MAIL_QUEUE, type MailJobData, MAINTENANCE_QUEUE, queuePrefix, type RetryPolicy } from './jobs/queues.js'
import type { RetentionResult } from './jobs/retention.js'
import { DEFAULT_WEBHOOK_RETRY, deliverWebhook, DISABLE_AFTER_FAILURES, DISABLE_AFTER_MS, type DisablePolicy, sendDisabledMail, WEBHOOK_QUEUE, type WebhookJobData } from './jobs/webhooks.js'
import { allowList } from './domain/webhook-targets.js'
import { createMailTransport, isPermanentMailError, type MailTransport } from './mail/transport.js'
import { stdoutLog } from './log-destination.js'
import { closeWithin, settlesWithin } from './shutdown.js'

export interface WorkerDeps {
  db?: Db
  clock?: Clock
  log?: Logger
  logStream?: DestinationStream
  transport?: MailTransport
  mailRetry?: RetryPolicy
  mailConcurrency?: number
  /** How often the outbox is polled (default 1 s); null: only on dispatchNow(). */
  outboxPollMs?: number | null
  /** Register the job schedulers (tests drive the sweep by hand and turn this off). */
  schedule?: boolean
  /** BullMQ lock/stall timing: tests shorten it to recover a killed worker's jobs quickly. */
  lockDurationMs?: number
  stalledIntervalMs?: number
  /** How often the outbox reconciler runs (default: half of OUTBOX_REDISPATCH_AFTER); null: only on reconcileNow(). */
  reconcileEveryMs?: number | null
  /** Webhook delivery retries and the automatic-disabling thresholds (tests shorten them). */
  webhookRetry?: RetryPolicy
  webhookDisable?: DisablePolicy
}

export interface WorkerHandle {
  readonly queues: { mail: Queue<MailJobData>; maintenance: Queue; webhooks: Queue<WebhookJobData> }
  readonly transport: MailTransport
  /** Dispatch the outbox now rather than at the next poll. */
  dispatchNow(): Promise<void>
  /** One dispatcher batch, with the options tests use to simulate a crash. */
  dispatchBatch(opts?: Partial<DispatchOptions>): Promise<DispatchResult>
  /**
   * One reconciler pass: dispatched events whose jobs vanished from Redis get them again. `full`
   * walks the whole window, as after a Redis reconnect (and hourly), not just what is new.
   */
  reconcileNow(opts?: { full?: boolean }): Promise<ReconcileResult>
  /** One webhook reconciler pass: pending deliveries whose jobs vanished from Redis get them again. */
  reconcileWebhooksNow(): Promise<WebhookReconcileResult>
  /** The sweep, in this process, with the worker's clock (what the scheduled job runs). */
  runSweep(): Promise<SweepReport>
  runRetention(): Promise<RetentionResult>
  close(): Promise<void>
}

const REDACT = ['*.token', '*.secret', 'token', 'secret']

export async function startWorker(config: Readonly<Config>, deps: WorkerDeps = {}): Promise<WorkerHandle> {
  const log = deps.log ?? pino({ level: config.logLevel, name: 'worker', redact: { paths: REDACT, censor: '[redacted]' } }, deps.logStream)
  const concurrency = deps.mailConcurrency ?? 5
  const retry = deps.mailRetry ?? DEFAULT_MAIL_RETRY
  // Each mail job holds a connection for its transaction while it sends; keep room for the rest.
  const db = deps.db ?? createDb(config.databaseUrl, concurrency + 4, (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection lost'))
  const clock = deps.clock ?? systemClock
  const transport = deps.transport ?? createMailTransport(config)
  const connection = connectionOf(config)
  const shared = { connection, prefix: queuePrefix(config) }
  const timing = { lockDuration: deps.lockDurationMs ?? config.jobLockDurationMs, stalledInterval: deps.stalledIntervalMs ?? config.jobLockDurationMs }

  const redis = createRedis(config, { maxRetriesPerRequest: 1, commandTimeout: config.redisCommandTimeoutMs })
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'))
  // Only for refresh() after the sweep's revocations: never started, so it serves nothing itself
  // and needs no room in its in-process tier (the default reserves ~25 MB of slots at start).
  const cache = new PolicyCache({ db, redis, prefix: config.redisKeyPrefix, log, breaker: new RedisBreaker(), l1Entries: 100 })
  const invalidate = async (keys: CacheKey[]) => {
    try {
      await cache.refresh(keys)
    } catch (err) {
      // Committed already; other instances converge within their cache TTLs.
      log.warn({ err: (err as Error).message }, 'cache refresh after auto-revoke failed')
    }
  }

  const mailQueue = new Queue<MailJobData>(MAIL_QUEUE, shared)
  const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, shared)
  const webhookQueue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, shared)
  const webhookRetry = deps.webhookRetry ?? DEFAULT_WEBHOOK_RETRY
  const untrack = [trackQueue(mailQueue as Queue), trackQueue(maintenanceQueue), trackQueue(webhookQueue as Queue)]
  for (const q of [mailQueue, maintenanceQueue, webhookQueue] as Queue[]) q.on('error', (err) => log.warn({ err: err.message, queue: q.name }, 'queue error'))

  const dispatch = (opts: Partial<DispatchOptions> = {}) => dispatchOutbox(db, mailQueue, { retry, webhooks: { queue: webhookQueue, retry: webhookRetry }, ...opts })
  const poller = new OutboxPoller(() => dispatch(), deps.outboxPollMs === undefined ? 1000 : deps.outboxPollMs, log)
  const shutdown = new AbortController()
  const reconciler = new OutboxReconciler(db, mailQueue, { redispatchAfterMs: config.outboxRedispatchAfterMs, retry, log })
  const webhookReconciler = new WebhookReconciler(db, webhookQueue, { redispatchAfterMs: config.outboxRedispatchAfterMs, retry: webhookRetry, log })
  // A Redis that comes back (restart, failover) may have lost jobs behind the reconciler's cursor.
  redis.on('ready', () => reconciler.walkAgain())
  const reconcileEveryMs = deps.reconcileEveryMs === undefined ? Math.max(1000, config.outboxRedispatchAfterMs / 2) : deps.reconcileEveryMs
  let reconcileTimer: NodeJS.Timeout | undefined
  const scheduleReconcile = () => {
    if (reconcileEveryMs === null || shutdown.signal.aborted) return
    reconcileTimer = setTimeout(() => {
      Promise.all([
        reconciler.run().catch((err: Error) => log.warn({ err: err.message }, 'outbox reconciliation failed; retrying')),
        webhookReconciler.run().catch((err: Error) => log.warn({ err: err.message }, 'webhook reconciliation failed; retrying')),
      ]).finally(scheduleReconcile)
    }, reconcileEveryMs)
    reconcileTimer.unref()
  }
  const maintenance: MaintenanceDeps = { db, config, clock, invalidate, signal: shutdown.signal, afterSweep: () => void poller.kick() }

  const mailWorker = new Worker<MailJobData>(
    MAIL_QUEUE,
    timed(MAIL_QUEUE, async (job) => {
      try {
        const outcome = await deliverNotification({ db, config, transport, log }, job.data)
        notificationsDelivered.inc({ kind: job.data.kind, result: outcome })
        return outcome
      } catch (err) {
        // A 5xx answer (unknown mailbox, policy rejection) will not change on retry.
        if (isPermanentMailError(err)) throw new UnrecoverableMailError(err as Error)
        throw err
      }
    }),
    { ...shared, ...timing, concurrency, maxStalledCount: 3 },
  )
  const maintenanceWorker = new Worker(MAINTENANCE_QUEUE, timed(MAINTENANCE_QUEUE, maintenanceProcessor(maintenance)), { ...shared, ...timing, concurrency: 1 })
  const webhookDeps = {
    db, config, transport, log, allowed: allowList(config.webhookAllowedRanges),
    disable: deps.webhookDisable ?? { failures: DISABLE_AFTER_FAILURES, afterMs: DISABLE_AFTER_MS },
  }
  const webhookWorker = new Worker<WebhookJobData>(
    WEBHOOK_QUEUE,
    timed(WEBHOOK_QUEUE, (job) => job.data.kind === 'deliver'
      ? deliverWebhook(webhookDeps, job.data.deliveryId, { made: job.attemptsMade, allowed: job.opts.attempts ?? 1 })
      : sendDisabledMail(webhookDeps, job.data.eventId)),
    { ...shared, ...timing, concurrency: 10, maxStalledCount: 3 },
  )
  for (const w of [mailWorker, maintenanceWorker, webhookWorker] as Worker[]) observe(w, log)

  await Promise.all([mailWorker.waitUntilReady(), maintenanceWorker.waitUntilReady(), webhookWorker.waitUntilReady()])
  if (deps.schedule ?? true) await scheduleMaintenance(maintenanceQueue, config)
  let metricsServer: Server | undefined
  if (config.workerMetricsPort > 0) metricsServer = await serveMetrics(config.workerMetricsPort, config.host)
  poller.start()
  scheduleReconcile()
  log.info({ mail: transport.description, sweepEveryMs: config.sweepEveryMs, autoRevokeUnusedDays: config.autoRevokeUnusedDays }, 'worker started')

  let closing: Promise<void> | undefined
  return {
    queues: { mail: mailQueue, maintenance: maintenanceQueue, webhooks: webhookQueue },
    transport,
    dispatchNow: () => poller.kick(),
    dispatchBatch: (opts) => dispatch(opts),
    reconcileNow: (opts = {}) => {
      if (opts.full) reconciler.walkAgain()
      return reconciler.run()
    },
    reconcileWebhooksNow: () => webhookReconciler.run(),
    runSweep: () => runSweep({ ...maintenance, signal: new AbortController().signal }),
    runRetention: () => runRetention(maintenance),
    close: () =>
      (closing ??= (async () => {
        shutdown.abort()
        clearTimeout(reconcileTimer)
        await poller.stop()
        // Waits for the jobs in flight to finish; nothing new is taken meanwhile. With Redis
        // unreachable that wait never ends (BullMQ waits for its fetch loop, which keeps retrying),
        // and those jobs could not be marked finished anyway: they are taken up again later, and
        // notification_deliveries stops a second send. A Redis that stalls (up, but not answering)
        // counts as unreachable; whatever still hangs is cut by the caller's SHUTDOWN_TIMEOUT.
        const force = !(await answersWithin(redis, 1000))
        if (force) log.warn('Redis does not answer: closing the queues without waiting for the jobs in flight')
        // Closing connections to such a Redis can wait forever too (a QUIT never answered, an end
        // event that never comes): give each step a second, then move on.
        const settle = (p: Promise<unknown>) => (force ? settlesWithin(p, 1000) : p)
        await settle(Promise.all([mailWorker.close(force), maintenanceWorker.close(force), webhookWorker.close(force)]))
        await settle(Promise.all([reconciler.idle(), webhookReconciler.idle()]))
        await settle(Promise.all([mailQueue.close(), maintenanceQueue.close(), webhookQueue.close()]))
        for (const u of untrack) u()
        transport.close()
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))
        await cache.stop()
        redis.disconnect()
        // A cluster's BullMQ client is ours (see bullConnection); options are BullMQ's own clients.
        if (connection instanceof Cluster) connection.disconnect()
        if (!deps.db) await db.destroy()
        log.info('worker stopped')
      })()),
  }
}

async function answersWithin(redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status !== 'ready') return false
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  const answered = redis.ping().then(() => true, () => false)
  try {
    return await Promise.race([answered, late])
  } finally {
    clearTimeout(timer)
  }
}

class UnrecoverableMailError extends Error {
  // BullMQ recognises unrecoverable errors by name: the job fails now instead of retrying.
  override name = 'UnrecoverableError'
  constructor(cause: Error) {
    super(cause.message, { cause })
  }
}

/** Wraps a processor to time each attempt. */
function timed<D, R>(queue: string, fn: (job: Job<D>) => Promise<R>) {
  return async (job: Job<D>): Promise<R> => {
    const end = jobDuration.startTimer({ queue, job: job.name })
    try {
      return await fn(job)
    } finally {
      end()
    }
  }
}

/** Counts outcomes; "failed" only once a job has no attempts left (it is then kept as failed). */
function observe(worker: Worker, log: Logger): void {
  const queue = worker.name
  worker.on('completed', (job) => jobOutcomes.inc({ queue, job: job.name, outcome: 'completed' }))
  worker.on('failed', (job, err) => {
    if (!job) return
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)
    jobOutcomes.inc({ queue, job: job.name, outcome: final ? 'failed' : 'retried' })
    const fields = { queue, jobId: job.id, attempt: job.attemptsMade, err: err.message }
    if (final) log.error(fields, 'job failed after its last attempt; kept as failed')
    else log.warn(fields, 'job attempt failed; retrying with backoff')
  })
  worker.on('error', (err) => log.warn({ queue, err: err.message }, 'worker error'))
}

/** The standalone worker: migrate (idempotent, locked), run, stop gracefully on SIGINT/SIGTERM. */
export async function runWorker(env: Record<string, string | undefined> = process.env): Promise<WorkerHandle> {
  const config = loadConfigOrExit(env)
  await migrateDirectly(config.databaseDirectUrl)
  const worker = await startWorker(config, { logStream: stdoutLog() })
  closeWithin(config.shutdownTimeoutMs, (msg) => console.error(`[worker] ${msg}`), () => worker.close())
  return worker
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runWorker()
}
