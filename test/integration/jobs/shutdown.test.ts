// Graceful shutdown: close() lets the mail in flight finish (and record its delivery), takes no
// new work, and what was left is picked up by the next worker.
import t from 'tap'
import { sendExpiryNotices } from '../../../src/jobs/expiry-sweep.js'
import { ALICE, inDays } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { deliveries, setUpJobs, waitForDeliveries } from './setup.js'

t.test('close() finishes the job in flight and takes nothing new; a restart sends the rest', async (t) => {
  const { ctx, smtp, worker, startAnotherWorker } = await setUpJobs(t, { worker: { mailConcurrency: 1 } })
  smtp.delayMs = 800 // a slow mail server: the job is mid-send when we stop
  await createToken(ctx, ALICE, { name: 'first' })
  await worker.dispatchNow()
  for (let i = 0; i < 200 && smtp.received === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(smtp.received, 1, 'the mail is on the wire')

  const started = Date.now()
  await worker.close()
  t.ok(Date.now() - started >= 500, 'close waited for the mail server to answer')
  t.equal(smtp.mails.length, 1, 'the mail in flight was delivered')
  t.equal((await deliveries(ctx)).length, 1, 'and its delivery recorded before close returned')

  smtp.delayMs = 0
  await createToken(ctx, ALICE, { name: 'second' })
  await new Promise((r) => setTimeout(r, 400))
  t.equal(smtp.mails.length, 1, 'a closed worker takes no new work')

  const next = await startAnotherWorker()
  await next.dispatchNow()
  await smtp.waitFor(2)
  await waitForDeliveries(ctx, 2)
  t.same(smtp.mails.map((m) => m.subject), ['New personal access token "first" added to your account', 'New personal access token "second" added to your account'])
})

t.test('a sweep stops between batches when the worker shuts down; the next run finishes it', async (t) => {
  const { ctx, worker } = await setUpJobs(t)
  for (let i = 0; i < 5; i++) await createToken(ctx, ALICE, { name: `t${i}`, expires_at: inDays(5) })
  // A signal that turns to "aborted" after the first batch, as close() would mid-sweep.
  let checks = 0
  const signal = { get aborted() { return ++checks > 1 } } as AbortSignal
  const stopped = await sendExpiryNotices({ db: ctx.app.db, clock: () => new Date(), batchSize: 2, signal })
  t.match(stopped, { aborted: true, batches: 1, notices: { '7': 2 } })
  const rest = await worker.runSweep()
  t.match(rest, { aborted: false, notices: { '7': 3 } })
  t.match(await worker.runSweep(), { notices: { '7': 0 } })
})
