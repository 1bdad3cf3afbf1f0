// A webhook delivery whose job Redis lost (a crash, a failover, an eviction) is not stuck in
// `pending` until somebody redelivers it: the reconciler enqueues it again, under the same jobId and
// with the same webhook-id, once OUTBOX_REDISPATCH_AFTER has passed. A delivery whose job is alive
// (waiting, or delayed for its backoff) is not doubled, a delivered one is not touched, and a
// recent one is left to the outbox.
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { deliveryJobId } from '../../../src/jobs/webhooks.js'
import { ADMIN, ALICE, asUser } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { eventually, signatureHeaders, startWebhookReceiver } from '../../helpers/webhook-receiver.js'
import { setUpJobs } from './setup.js'

t.test('a delivery whose job vanished is delivered once by the reconciler, with the same webhook-id', async (t) => {
  // /down always answers 500: its job is delayed for its retry.
  const hooks = await startWebhookReceiver(t, (hit) => (hit.path === '/down' ? 500 : 204))
  const { ctx, worker } = await setUpJobs(t, {
    env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.0/8', OUTBOX_REDISPATCH_AFTER: '1s' },
    // A failed attempt waits a minute for its retry: long enough to find the job delayed.
    worker: { reconcileEveryMs: null, webhookRetry: { attempts: 3, backoffMs: 60_000 } },
  })
  const db = ctx.app.db
  const admin = await asUser(ctx, ADMIN)
  const register = async (path: string) => {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/personal_access_token_webhooks', headers: admin, payload: { url: hooks.url(path), events: ['token.created'] } })
    t.equal(res.statusCode, 201, res.body)
    return res.json() as { id: number; secret: string }
  }
  const lostHook = await register('/lost')
  const downHook = await register('/down')
  const rows = async () => (await sql<{ id: number; endpoint_id: number; event_id: number; status: string; attempts: number; message_id: string; redeliveries: number }>`
    select id, endpoint_id, event_id, status, attempts, message_id, redeliveries from webhook_deliveries order by id`.execute(db)).rows
  const queue = worker.queues.webhooks

  // The outbox writes both deliveries and enqueues their jobs; then Redis "loses" the first one.
  await queue.pause()
  await createToken(ctx, ALICE, { name: 'ci' })
  const [lost, down] = await eventually('two deliveries', async () => {
    await worker.dispatchNow()
    const r = await rows()
    return r.length === 2 && r
  })
  t.equal(lost.endpoint_id, lostHook.id)
  t.equal(down.endpoint_id, downHook.id)
  t.ok(await queue.remove(deliveryJobId(lost.id, 0)), 'the job is gone from Redis')
  await queue.resume()
  // The other receiver fails: its job is delayed for its backoff, and its row stays pending.
  await eventually('the failed first attempt', async () => (await rows()).find((r) => r.id === down.id && r.attempts >= 1))
  t.equal(await (await queue.getJob(deliveryJobId(down.id, 0)))?.getState(), 'delayed', 'the failed job waits for its retry')
  t.same(hooks.hits.filter((h) => h.path === '/lost'), [], 'nothing reached the receiver whose job was lost')

  t.same(await worker.reconcileWebhooksNow(), { checked: 0, redispatched: 0 }, 'too recent: the outbox may still be on them')
  await sql`update webhook_deliveries set created_at = created_at - interval '2 minutes', last_attempt_at = last_attempt_at - interval '2 minutes'`.execute(db)
  t.same(await worker.reconcileWebhooksNow(), { checked: 2, redispatched: 1 }, 'only the lost one: the delayed job is alive')

  const hit = await eventually('the redelivered POST', async () => hooks.hits.find((h) => h.path === '/lost'))
  const payload = new Webhook(lostHook.secret).verify(hit.body, signatureHeaders(hit)) as { type: string }
  t.equal(payload.type, 'token.created', 'signed with the endpoint secret')
  t.equal(hit.headers['webhook-id'], lost.message_id, 'the same webhook-id the first job would have sent')
  await eventually('the delivery marked delivered', async () => (await rows()).find((r) => r.id === lost.id && r.status === 'delivered'))

  t.same(await worker.reconcileWebhooksNow(), { checked: 1, redispatched: 0 }, 'delivered: not touched again; the delayed one still alive')
  t.same(await worker.reconcileWebhooksNow(), { checked: 1, redispatched: 0 }, 'a second pass adds nothing')
  await new Promise((r) => setTimeout(r, 300))
  t.equal(hooks.hits.filter((h) => h.path === '/lost').length, 1, 'delivered exactly once')
  t.equal(hooks.hits.filter((h) => h.path === '/down').length, 1, 'the failing receiver got its one attempt, no extra')
})
