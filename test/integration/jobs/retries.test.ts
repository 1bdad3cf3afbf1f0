// A mail server that keeps refusing: exponential backoff, then the job is kept as failed and
// counted on /metrics; a permanent refusal (5xx) fails at once; an operator retry delivers once.
import t from 'tap'
import { registry } from '../../../src/metrics/registry.js'
import { mailJobId } from '../../../src/jobs/queues.js'
import { ALICE, BOB } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { setUpJobs, waitForDeliveries } from './setup.js'

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (!metric) return 0
  const { values } = await metric.get()
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0)
}

async function createdEvent(ctx: Parameters<typeof waitForDeliveries>[0], tokenId: number): Promise<number> {
  const row = await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.created').where('target_id', '=', String(tokenId)).executeTakeFirstOrThrow()
  return row.id
}

async function waitForState(get: () => Promise<string>, want: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let state = await get()
  while (state !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    state = await get()
  }
  return state
}

t.test('temporary refusals retry with exponential backoff, then the job is kept as failed and counted', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t, { worker: { mailRetry: { attempts: 3, backoffMs: 200 } } })
  smtp.reply = (mail) => (mail.to.includes('bob@example.com') ? { code: 451, message: '4.3.0 mailbox busy, try later' } : undefined)
  const failedBefore = await metricValue('fgpat_jobs_total', { queue: 'mail', outcome: 'failed' })
  const retriedBefore = await metricValue('fgpat_jobs_total', { queue: 'mail', outcome: 'retried' })

  const bobs = await createToken(ctx, BOB, { name: 'bobs' })
  await createToken(ctx, ALICE, { name: 'alices' })
  const jobId = mailJobId(await createdEvent(ctx, bobs.id), 'owner_mail')
  await worker.dispatchNow()
  t.equal(await waitForState(() => worker.queues.mail.getJobState(jobId), 'failed'), 'failed', 'kept as failed after the last attempt')

  const tries = smtp.attempts.filter((a) => a.mail.to.includes('bob@example.com'))
  t.equal(tries.length, 3, 'three attempts')
  t.ok(tries.every((a) => a.code === 451))
  t.ok(tries[1].at - tries[0].at >= 200, `first retry after >= 200 ms (${tries[1].at - tries[0].at})`)
  t.ok(tries[2].at - tries[1].at >= 400, `second retry after >= 400 ms, doubled (${tries[2].at - tries[1].at})`)
  const job = await worker.queues.mail.getJob(jobId)
  t.equal(job?.attemptsMade, 3)
  t.match(job?.failedReason, /451/)
  t.same(smtp.mails.map((m) => m.to), [['alice@example.com']], "alice's mail went through meanwhile")

  t.equal(await metricValue('fgpat_jobs_total', { queue: 'mail', outcome: 'failed' }), failedBefore + 1, 'counted once as failed')
  t.equal(await metricValue('fgpat_jobs_total', { queue: 'mail', outcome: 'retried' }), retriedBefore + 2, 'and twice as retried')
  t.equal(await metricValue('fgpat_job_queue_jobs', { queue: 'mail', state: 'failed' }), 1, 'queue depth shows the failed job')
  const text = await registry.metrics()
  t.match(text, /fgpat_job_queue_jobs\{queue="mail",state="failed"\} 1/)
  t.match(text, /fgpat_job_duration_seconds_count\{queue="mail",job="send"\} \d+/)

  // The server recovers; an operator retries the failed job (Queue.retryJobs or job.retry).
  smtp.reply = () => undefined
  await job!.retry('failed')
  const mails = await smtp.waitFor(2)
  t.same(mails.map((m) => m.to[0]).sort(), ['alice@example.com', 'bob@example.com'])
  await waitForDeliveries(ctx, 2)
})

t.test('a permanent refusal (5xx) fails at once, without retries', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t, { worker: { mailRetry: { attempts: 5, backoffMs: 100 } } })
  smtp.reply = () => ({ code: 550, message: '5.1.1 no such user' })
  const token = await createToken(ctx, BOB)
  const jobId = mailJobId(await createdEvent(ctx, token.id), 'owner_mail')
  await worker.dispatchNow()
  t.equal(await waitForState(() => worker.queues.mail.getJobState(jobId), 'failed'), 'failed')
  t.equal(smtp.attempts.length, 1, 'one attempt only')
  const job = await worker.queues.mail.getJob(jobId)
  t.equal(job?.attemptsMade, 1)
  t.match(job?.failedReason, /550/)
})
