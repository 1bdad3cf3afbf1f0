// The daily approval digest (group policy approval_notifications = daily_digest): no mail to the
// owners per request; from APPROVAL_DIGEST_HOUR_UTC (default 08:00 UTC) the sweep mails each owner
// one digest of the requests pending in the group, once per group and day (two workers, or a
// rerun, add nothing); nothing pending, no mail. each_request keeps one mail per request.
import { sql } from 'kysely'
import t from 'tap'
import { manualClock, type TestContext } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, CAROL, CLI_PROJECT, inDays, OPENSOURCE } from '../../helpers/fixtures.js'
import type { ReceivedMail, TestSmtp } from '../../helpers/smtp.js'
import { createToken } from '../../helpers/tokens.js'
import { deliveries, flat, setUpJobs } from '../jobs/setup.js'
import { putGroup } from './helpers.js'

const readCode = (projectIds: number[]) => [{ access: 'selected_memberships', project_ids: projectIds, permissions: ['read_code'] }]
const requestsUrl = (query = '') => `/api/v4/groups/${OPENSOURCE}/personal_access_token_requests${query}`
const DIGEST = 'group.approval_digest'

/** Tomorrow (UTC) at this hour: later than every row PostgreSQL stamps with now() during the test. */
function tomorrowAt(hour: number, minute = 0): Date {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, hour, minute))
}

/** Carol becomes a second owner of opensource (Bob is the first). */
async function addOwner(ctx: TestContext, userId = CAROL) {
  await ctx.app.db.insertInto('memberships').values({ user_id: userId, namespace_id: OPENSOURCE, access_level: 50 }).execute()
}

async function request(ctx: TestContext, name: string, reason: string) {
  return createToken(ctx, ALICE, { name, granular_scopes: readCode([CLI_PROJECT]), expires_at: inDays(300), approval_reason: reason })
}

const eventsOf = (ctx: TestContext, action: string) => ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute()

/** The mails of one kind of event once `count` of them arrived; then a short wait shows no more come. */
async function mailsOf(smtp: TestSmtp, event: string, count: number, settleMs = 300): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && smtp.mails.filter((m) => m.event === event).length < count) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, settleMs))
  return smtp.mails.filter((m) => m.event === event)
}

/** Waits until every approval_requested event has its approvers_mail delivery row (sent or skipped). */
async function requestMailsSettled(ctx: TestContext) {
  const ids = (await eventsOf(ctx, 'token.approval_requested')).map((e) => Number(e.id))
  const deadline = Date.now() + 15_000
  for (;;) {
    const rows = (await deliveries(ctx)).filter((d) => d.kind === 'approvers_mail' && ids.includes(Number(d.event_id)))
    if (rows.length >= ids.length) return rows
    if (Date.now() > deadline) throw new Error(`expected ${ids.length} approvers_mail deliveries, found ${rows.length}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

t.test('daily_digest: no mail per request; one digest per owner at the hour, once a day; only what is still pending; none when nothing is', async (t) => {
  const clock = manualClock(tomorrowAt(7, 30))
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  await addOwner(ctx)

  const policy = await putGroup(ctx, OPENSOURCE, { require_approval: true, approval_notifications: 'daily_digest' }, BOB)
  t.equal(policy.statusCode, 200, policy.body)
  t.equal(policy.json().approval_notifications, 'daily_digest')
  t.match(await eventsOf(ctx, 'policy.group_updated'), [{ details: { changes: { approval_notifications: { from: 'each_request', to: 'daily_digest' } } } }], 'audited with its before/after')

  const first = await request(ctx, 'release bot', 'publishes the CLI release notes')
  const second = await request(ctx, 'docs sync', 'copies the docs to the website')
  const rows = await requestMailsSettled(ctx)
  t.same(rows.map((r) => r.status), ['skipped', 'skipped'], 'no per-request mail to the owners')
  t.match(rows[0].detail, /daily digest/)
  t.equal(smtp.mails.filter((m) => m.event === 'token.approval_requested').length, 0)

  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 }, '07:30 UTC: before the hour, nothing')
  clock.set(tomorrowAt(8, 5))
  t.match((await worker.runSweep()).approvalDigests, { groups: 1, mails: 2 }, 'at the hour: one digest mail per owner')
  const digests = await mailsOf(smtp, DIGEST, 2)
  t.equal(digests.length, 2)
  t.same(digests.map((m) => m.to).sort(), [['bob@example.com'], ['carol@example.com']], 'one mail to each owner')
  for (const m of digests) {
    const text = flat(m.text)
    t.match(m.subject, /2 requests for approval in "opensource"/)
    t.match(text, /release bot.*Alice \(@alice\).*read_code.*publishes the CLI release notes/, 'requester, token, reach, reason')
    t.match(text, /docs sync.*copies the docs to the website/)
    t.match(text, /Waiting for \d+ (hour|day)s?;/, 'the age of each request')
    t.match(text, /2 requests arrived/, 'how many arrived since the last digest')
    t.match(text, new RegExp(`/api/v4/groups/${OPENSOURCE}/personal_access_token_requests/<id>/approve`), 'how to approve: the API route')
    t.match(text, /Approval requests/, 'and the console tab')
    for (const secret of [first.token!, second.token!]) t.notOk(m.raw.includes(secret), 'no secret in a digest')
  }

  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 }, 'a second run the same day sends nothing')
  clock.set(tomorrowAt(23, 50))
  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 }, 'nor a later one')
  t.equal((await eventsOf(ctx, DIGEST)).length, 2)

  const [firstRequest] = (await ctx.app.inject({ url: requestsUrl('?state=pending'), headers: await asUser(ctx, BOB) })).json().filter((r: { token: { id: number } }) => r.token.id === first.id)
  t.equal((await ctx.app.inject({ method: 'POST', url: requestsUrl(`/${firstRequest.id}/approve`), headers: await asUser(ctx, BOB), payload: {} })).statusCode, 200)
  const outcome = await mailsOf(smtp, 'token.approval_approved', 1, 0)
  t.same(outcome[0]?.to, ['alice@example.com'], 'the requester hears the outcome at once')

  clock.set(new Date(tomorrowAt(8, 5).getTime() + 86_400_000))
  t.match((await worker.runSweep()).approvalDigests, { groups: 1, mails: 2 }, 'the next day')
  const nextDay = (await mailsOf(smtp, DIGEST, 4)).slice(2)
  t.equal(nextDay.length, 2)
  for (const m of nextDay) {
    const text = flat(m.text)
    t.match(m.subject, /1 request for approval/)
    t.match(text, /docs sync/, 'the one still pending')
    t.notMatch(text, /release bot/, 'not the approved one')
    t.match(text, /Since the last digest \(.*\), 0 requests arrived/)
    t.match(text, /Waiting for \d+ days?;/, 'a day older')
  }

  const [secondRequest] = (await ctx.app.inject({ url: requestsUrl('?state=pending'), headers: await asUser(ctx, BOB) })).json()
  t.equal(secondRequest.token.id, second.id)
  t.equal((await ctx.app.inject({ method: 'POST', url: requestsUrl(`/${secondRequest.id}/deny`), headers: await asUser(ctx, BOB), payload: {} })).statusCode, 200)
  t.equal((await ctx.app.inject({ url: requestsUrl('?state=pending'), headers: await asUser(ctx, BOB) })).json().length, 0)
  clock.set(new Date(tomorrowAt(8, 5).getTime() + 2 * 86_400_000))
  t.match((await worker.runSweep()).approvalDigests, { groups: 1, mails: 0 }, 'nothing pending: the day is done without a mail')
  t.equal((await eventsOf(ctx, DIGEST)).length, 4)
  t.equal((await mailsOf(smtp, DIGEST, 5, 500)).length, 4, 'no mail')
})

t.test('two workers sweeping at once: one digest mail per owner', async (t) => {
  const clock = manualClock(tomorrowAt(9))
  const { ctx, smtp, worker, startAnotherWorker } = await setUpJobs(t, { clock })
  await addOwner(ctx)
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: true, approval_notifications: 'daily_digest' }, BOB)).statusCode, 200)
  await request(ctx, 'release bot', 'releases')
  await request(ctx, 'docs sync', 'docs')
  const other = await startAnotherWorker()
  const reports = await Promise.all([worker.runSweep(), other.runSweep(), worker.runSweep(), other.runSweep()])
  t.equal(reports.reduce((n, r) => n + r.approvalDigests.groups, 0), 1, 'one run recorded the day')
  t.equal(reports.reduce((n, r) => n + r.approvalDigests.mails, 0), 2)
  const digests = await mailsOf(smtp, DIGEST, 2, 800)
  t.same(digests.map((m) => m.to).sort(), [['bob@example.com'], ['carol@example.com']], 'one mail per owner, no more')
  const { rows } = await sql<{ n: string }>`select count(*) as n from approval_digests where group_id = ${OPENSOURCE}`.execute(ctx.app.db)
  t.equal(Number(rows[0].n), 1)
})

t.test('a worker that dies mid-digest (its transaction rolled back) leaves the day to the next run', async (t) => {
  const clock = manualClock(tomorrowAt(8))
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: true, approval_notifications: 'daily_digest' }, BOB)).statusCode, 200)
  await request(ctx, 'release bot', 'releases')
  const day = tomorrowAt(8).toISOString().slice(0, 10)
  let sweep: ReturnType<typeof worker.runSweep> | undefined
  // The dying worker: its digest row is written, not committed, when it goes.
  await t.rejects(ctx.app.db.transaction().execute(async (trx) => {
    await sql`insert into approval_digests (group_id, digest_date) values (${OPENSOURCE}, ${day}::date)`.execute(trx)
    sweep = worker.runSweep() // waits on the uncommitted row
    await new Promise((r) => setTimeout(r, 300))
    throw new Error('crash')
  }), /crash/)
  t.match((await sweep!).approvalDigests, { groups: 1, mails: 1 }, 'the surviving run sends the digest')
  t.same((await mailsOf(smtp, DIGEST, 1, 500)).map((m) => m.to), [['bob@example.com']], 'once')
  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 })
})

t.test('each_request (the default) is unchanged; switching back from the digest mails what is pending at once', async (t) => {
  const clock = manualClock(tomorrowAt(10))
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  const policy = await putGroup(ctx, OPENSOURCE, { require_approval: true }, BOB)
  t.equal(policy.json().approval_notifications, 'each_request', 'the default')
  const bad = await putGroup(ctx, OPENSOURCE, { approval_notifications: 'weekly' }, BOB)
  t.equal(bad.statusCode, 400, 'an unknown value is refused')
  t.match(bad.body, /approval_notifications/)

  const first = await request(ctx, 'release bot', 'releases')
  const perRequest = await mailsOf(smtp, 'token.approval_requested', 1, 0)
  t.same(perRequest[0]?.to, ['bob@example.com'], 'each request mails the owners')
  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 }, 'and no digest')

  t.equal((await putGroup(ctx, OPENSOURCE, { approval_notifications: 'daily_digest' }, BOB)).statusCode, 200)
  const second = await request(ctx, 'docs sync', 'docs')
  await requestMailsSettled(ctx)
  t.equal(smtp.mails.filter((m) => m.event === 'token.approval_requested').length, 1, 'under the digest: no mail for the second')

  const back = await putGroup(ctx, OPENSOURCE, { approval_notifications: 'each_request' }, BOB)
  t.equal(back.json().approval_notifications, 'each_request')
  const [last] = await mailsOf(smtp, DIGEST, 1, 0)
  t.same(last?.to, ['bob@example.com'], 'switching back: a last digest at once')
  t.match(last?.subject, /Pending 2 requests for approval in "opensource"/)
  t.match(flat(last?.text), /docs sync.*docs/, 'with the request no mail named yet')
  for (const secret of [first.token!, second.token!]) t.notOk(last?.raw.includes(secret), 'no secret')
  t.match((await worker.runSweep()).approvalDigests, { groups: 0, mails: 0 }, 'no daily digest any more')

  await request(ctx, 'third', 'more')
  t.equal((await mailsOf(smtp, 'token.approval_requested', 2, 0)).length, 2, 'per-request mails again')

  // Administrators and other groups are unaffected: acme keeps no policy of its own.
  t.equal((await ctx.app.inject({ url: '/api/v4/groups/100/personal_access_token_policy', headers: await asUser(ctx, ADMIN) })).json().approval_notifications, 'each_request')
})
