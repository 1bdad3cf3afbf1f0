// PostgreSQL is the truth for what must be sent: an event marked dispatched whose job vanished
// from Redis (a Redis crash or failover lost it) is dispatched again once OUTBOX_REDISPATCH_AFTER
// has passed, and mailed exactly once. Delivered, skipped, still-queued, failed-for-good and
// non-notifying events are left alone.
import { sql } from 'kysely'
import t from 'tap'
import { mailJobId } from '../../../src/jobs/queues.js'
import { ALICE, BOB } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { deliveries, setUpJobs, waitForDeliveries } from './setup.js'

type Ctx = Parameters<typeof deliveries>[0]

async function createdEvent(ctx: Ctx, tokenId: number): Promise<number> {
  const row = await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.created').where('target_id', '=', String(tokenId)).executeTakeFirstOrThrow()
  return row.id
}

/** As if the dispatcher had enqueued the events' jobs `secondsAgo` and Redis had lost them since. */
async function dispatchedWithoutJobs(ctx: Ctx, eventIds: number[], secondsAgo: number) {
  await sql`update audit_events set dispatched_at = now() - make_interval(secs => ${secondsAgo}) where id = any(${eventIds}::bigint[])`.execute(ctx.app.db)
}

t.test('events whose jobs vanished are dispatched again and mailed once; everything else is left alone', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t, { env: { OUTBOX_REDISPATCH_AFTER: '1s' }, worker: { outboxPollMs: null, reconcileEveryMs: null } })

  // Delivered normally: four mails to alice, and bob's skipped (he is blocked by then).
  for (let i = 0; i < 4; i++) await createToken(ctx, ALICE, { name: `sent${i}` })
  await createToken(ctx, BOB, { name: 'skipped' })
  const block = await ctx.app.inject({
    method: 'PUT',
    url: `/api/v4/directory/users/${BOB}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'bob', name: 'Bob', email: 'bob@example.com', state: 'blocked' },
  })
  t.equal(block.statusCode, 200)
  await worker.dispatchNow()
  await smtp.waitFor(4)
  const settled = await waitForDeliveries(ctx, 5)
  t.equal(settled.filter((r) => r.status === 'skipped').length, 1, "bob's notification was skipped, and recorded")
  await dispatchedWithoutJobs(ctx, (await ctx.app.db.selectFrom('audit_events').select('id').execute()).map((r) => r.id), 120)

  // Lost: three events marked dispatched two minutes ago, their jobs gone; one dispatched just now.
  const lost = [] as number[]
  for (let i = 0; i < 3; i++) lost.push(await createdEvent(ctx, (await createToken(ctx, ALICE, { name: `lost${i}` })).id))
  const recent = await createdEvent(ctx, (await createToken(ctx, ALICE, { name: 'recent' })).id)
  await dispatchedWithoutJobs(ctx, lost, 120)
  await dispatchedWithoutJobs(ctx, [recent], 0)

  t.same(await worker.reconcileNow(), { checked: 3, redispatched: 3 }, 'only the lost ones: delivered, skipped and directory events are not even asked about')
  await smtp.waitFor(7)
  await waitForDeliveries(ctx, 8)
  t.same(await worker.reconcileNow(), { checked: 0, redispatched: 0 }, 'delivered now: nothing more to do')
  t.notOk(await worker.queues.mail.getJob(mailJobId(recent, 'owner_mail')), 'the recent one is not touched before OUTBOX_REDISPATCH_AFTER')

  await new Promise((r) => setTimeout(r, 1100))
  t.same(await worker.reconcileNow(), { checked: 1, redispatched: 1 }, 'once it is old enough, it is dispatched again too')
  await smtp.waitFor(8)
  await waitForDeliveries(ctx, 9)

  // A job that still exists is the queue's business, even failed for good (an operator retries it).
  smtp.reply = () => ({ code: 550, message: '5.1.1 no such mailbox' })
  const refused = await createdEvent(ctx, (await createToken(ctx, ALICE, { name: 'refused' })).id)
  await worker.dispatchNow()
  await smtp.waitFor(1, { attempts: true, timeoutMs: 10_000 })
  const job = await worker.queues.mail.getJob(mailJobId(refused, 'owner_mail'))
  for (let i = 0; i < 100 && (await job?.getState()) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 50))
  t.equal(await job?.getState(), 'failed')
  await dispatchedWithoutJobs(ctx, [refused], 120)
  t.same(await worker.reconcileNow(), { checked: 1, redispatched: 0 }, 'a failed job is not sent again behind the operator')

  // ...until that job itself is lost: the cursor has passed it, and a full walk of the window
  // (after Redis comes back, and hourly) finds it.
  await job?.remove()
  smtp.reply = () => undefined
  t.same(await worker.reconcileNow(), { checked: 0, redispatched: 0 }, 'the incremental pass has moved on')
  t.same(await worker.reconcileNow({ full: true }), { checked: 1, redispatched: 1 }, 'a full walk finds it')
  await smtp.waitFor(9)
  await waitForDeliveries(ctx, 10)
  await new Promise((r) => setTimeout(r, 300))

  const ids = smtp.mails.map((m) => m.eventId)
  t.equal(new Set(ids).size, ids.length, 'no event mailed twice')
  t.equal(new Set(smtp.mails.map((m) => m.messageId)).size, 9, 'nine distinct Message-IDs')
  t.ok([...lost, recent, refused].every((id) => ids.includes(id)), 'every lost mail arrived')
})
