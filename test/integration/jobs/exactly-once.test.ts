// Exactly once, whatever crashes: the dispatcher dying between enqueue and marking, BullMQ having
// forgotten the finished jobs, two dispatchers at once, and a worker process killed mid-batch.
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { sql } from 'kysely'
import t from 'tap'
import { build, LogCapture, REDIS_NOT_UNDER_TEST } from '../../helpers/app.js'
import { plainNode } from '../../helpers/processes.js'
import { ALICE, BOB, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { startSmtp } from '../../helpers/smtp.js'
import { createToken } from '../../helpers/tokens.js'
import { queuePrefix } from '../../../src/jobs/queues.js'
import { startWorker } from '../../../src/worker.js'
import { deliveries, PUBLIC_URL, setUpJobs, undispatched, waitForDeliveries } from './setup.js'
import { repoRoot } from '../../../src/repo-root.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function tokenEvents(ctx: Parameters<typeof deliveries>[0]): Promise<number[]> {
  const rows = await ctx.app.db.selectFrom('audit_events').select('id').where('action', 'like', 'token.%').orderBy('id').execute()
  return rows.map((r) => r.id)
}

t.test('a crash between enqueue and marking dispatched neither loses nor duplicates a mail', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t, { worker: { outboxPollMs: null } })
  for (let i = 0; i < 5; i++) await createToken(ctx, ALICE, { name: `t${i}` })
  const before = await undispatched(ctx)

  await t.rejects(worker.dispatchBatch({ afterEnqueue: async () => Promise.reject(new Error('simulated crash')) }), /simulated crash/)
  t.equal(await undispatched(ctx), before, 'the transaction rolled back: nothing is marked dispatched')
  await smtp.waitFor(5)
  await waitForDeliveries(ctx, 5)

  // The next run claims the same rows again: same jobIds, which BullMQ still holds.
  t.match(await worker.dispatchBatch(), { claimed: before, enqueued: 5 })
  t.equal(await undispatched(ctx), 0)
  await sleep(300)
  t.equal(smtp.mails.length, 5, 'no second mail while the jobs are kept')

  // BullMQ forgets finished jobs (removeOnComplete); crash again between the two steps: the
  // re-created jobs run, and the deliveries table stops each one.
  await worker.queues.mail.clean(0, 1000, 'completed')
  t.equal((await worker.queues.mail.getJobCounts('completed')).completed, 0)
  await sql`update audit_events set dispatched_at = null`.execute(ctx.app.db)
  await worker.dispatchBatch()
  for (let i = 0; i < 100 && (await worker.queues.mail.getJobCounts('completed')).completed < 5; i++) await sleep(50)
  const jobs = await worker.queues.mail.getJobs(['completed'])
  t.equal(jobs.length, 5)
  t.ok(jobs.every((j) => j.returnvalue === 'duplicate'), 'each re-created job found its delivery and stopped')
  t.equal(smtp.mails.length, 5, 'still exactly one mail per event')
  t.same(smtp.mails.map((m) => m.eventId).sort((a, b) => a - b), await tokenEvents(ctx))
})

t.test('two workers dispatching at once split the outbox (SKIP LOCKED): each mail once', async (t) => {
  const { ctx, smtp, worker, startAnotherWorker } = await setUpJobs(t, { worker: { outboxPollMs: null } })
  for (let i = 0; i < 40; i++) await createToken(ctx, i % 2 ? ALICE : BOB, { name: `t${i}` })
  const other = await startAnotherWorker()
  const small = { batchSize: 7 }
  const runs = await Promise.all([0, 1, 2].flatMap(() => [worker.dispatchBatch(small), other.dispatchBatch(small)]))
  t.ok(runs.every((r) => r.claimed <= 7))
  await worker.dispatchNow()
  await smtp.waitFor(40)
  await waitForDeliveries(ctx, 40)
  await sleep(300)
  const ids = smtp.mails.map((m) => m.eventId)
  t.equal(ids.length, 40)
  t.equal(new Set(ids).size, 40, 'no event mailed twice')
})

t.test('a worker process killed mid-batch and restarted delivers every mail exactly once', async (t) => {
  const entry = join(repoRoot(), 'dist', 'src', 'worker.js')
  t.ok(existsSync(entry), 'npm test builds dist/ first')
  const smtp = await startSmtp(t)
  // The dead worker's locks are cleared below through the app's Redis client.
  const ctx = await build(t, { env: { SMTP_URL: smtp.url, PUBLIC_URL, ...REDIS_NOT_UNDER_TEST } })
  await seedDirectory(ctx)
  const TOTAL = 20
  const BEFORE_KILL = 7
  // Far from any expiry window: the child's scheduled sweep adds no mail of its own.
  for (let i = 0; i < TOTAL; i++) await createToken(ctx, i % 2 ? ALICE : BOB, { name: `t${i}`, expires_at: inDays(200) })

  // Accept 7 messages, then leave every further one unanswered: those jobs are mid-send.
  smtp.reply = () => {
    if (smtp.mails.length + 1 >= BEFORE_KILL) smtp.hold()
    return undefined
  }
  const c = ctx.config
  const child = spawn(...plainNode([entry]), {
    env: {
      PATH: process.env.PATH, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: c.databaseUrl, REDIS_URL: c.redisUrl,
      REDIS_KEY_PREFIX: c.redisKeyPrefix, SMTP_URL: smtp.url, PUBLIC_URL, TOKEN_PEPPERS: c.tokenPeppers.join(','), AUTH_JWT_SECRET: c.auth.jwtSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  await smtp.waitFor(BEFORE_KILL, { timeoutMs: 30_000 }).catch((err: Error) => t.fail(`${err.message}\n${output}`))
  await waitForDeliveries(ctx, BEFORE_KILL)
  for (let i = 0; i < 200 && smtp.heldSessions === 0; i++) await sleep(25)
  t.ok(smtp.heldSessions > 0, 'a mail was in flight when the worker died')
  child.kill('SIGKILL')
  t.equal(await exited, 'SIGKILL')
  smtp.reply = () => undefined
  smtp.drop()
  t.equal(smtp.mails.length, BEFORE_KILL, 'nothing more was accepted')
  t.equal((await deliveries(ctx)).length, BEFORE_KILL)

  // Its active jobs hold 30 s locks, and its last stalled-job check holds off others for 30 s;
  // let that time pass (drop those keys) rather than wait for it.
  const locks = await ctx.app.redis.keys(`${queuePrefix(c)}:mail:*:lock`)
  t.ok(locks.length > 0, 'the dead worker left active jobs behind')
  await ctx.app.redis.del(...locks, `${queuePrefix(c)}:mail:stalled-check`)

  const restarted = await startWorker(c, { stalledIntervalMs: 300, outboxPollMs: 100, schedule: false, logStream: new LogCapture() })
  t.teardown(() => restarted.close())
  await smtp.waitFor(TOTAL, { timeoutMs: 30_000 })
  await waitForDeliveries(ctx, TOTAL)
  await sleep(500)
  const ids = smtp.mails.map((m) => m.eventId).sort((a, b) => a - b)
  t.same(ids, await tokenEvents(ctx), 'every token event mailed exactly once')
  t.equal(await undispatched(ctx), 0)
  const rows = await deliveries(ctx)
  t.equal(rows.length, TOTAL)
  t.ok(rows.every((r) => r.status === 'sent'))
})
