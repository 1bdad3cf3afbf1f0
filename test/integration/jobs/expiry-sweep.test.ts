// The expiry sweep, on a clock the test moves: each window (60, 30, 7 days) and the expiry itself
// are noticed once per token, however often the sweep runs, and mailed to the owner.
import { sql } from 'kysely'
import t from 'tap'
import { manualClock } from '../../helpers/app.js'
import { ALICE, asUser, BOB, inDays } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { EXPIRY_SWEEP } from '../../../src/jobs/queues.js'
import { flat, setUpJobs, waitForDeliveries } from './setup.js'

const START = '2026-03-01T10:00:00Z'

t.test('each window is noticed once per token across repeated sweeps, then mailed', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  const day0 = clock()
  const tokens = {
    far: await createToken(ctx, ALICE, { name: 'far', expires_at: inDays(100, day0) }),
    in45: await createToken(ctx, ALICE, { name: 'in45', expires_at: inDays(45, day0) }),
    in20: await createToken(ctx, ALICE, { name: 'in20', expires_at: inDays(20, day0) }),
    in5: await createToken(ctx, ALICE, { name: 'in5', expires_at: inDays(5, day0) }),
    bobs: await createToken(ctx, BOB, { name: 'bobs', expires_at: inDays(10, day0) }),
    revoked: await createToken(ctx, ALICE, { name: 'revoked', expires_at: inDays(3, day0) }),
  }
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${tokens.revoked.id}`, headers: await asUser(ctx, ALICE) })

  const first = await worker.runSweep()
  t.same(first.notices, { '60': 1, '30': 2, '7': 1, expired: 0 }, 'in45 → 60; in20 and bobs (10 days) → 30; in5 → 7')
  t.same((await worker.runSweep()).notices, { '60': 0, '30': 0, '7': 0, expired: 0 }, 'the same sweep again notices nothing')
  const [a, b] = await Promise.all([worker.runSweep(), worker.runSweep()])
  t.equal(Object.values(a.notices).concat(Object.values(b.notices)).reduce((x, y) => x + y, 0), 0, 'nor do concurrent sweeps')

  const totals = { '60': 1, '30': 2, '7': 1, expired: 0 }
  for (let day = 1; day <= 102; day++) {
    clock.advanceDays(1)
    for (let run = 0; run < (day % 10 === 0 ? 3 : 1); run++) {
      const r = await worker.runSweep()
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.notices[k]
    }
  }
  t.same(totals, { '60': 2, '30': 4, '7': 5, expired: 5 }, 'far: 60/30/7/expired; in45: 60/30/7/expired; in20, bobs: 30/7/expired; in5: 7/expired')

  const { rows } = await sql<{ name: string; n60: boolean; n30: boolean; n7: boolean; expired: boolean }>`
    select name, expiry_notice_60_at is not null as n60, expiry_notice_30_at is not null as n30,
           expiry_notice_7_at is not null as n7, expired_notice_at is not null as expired
    from personal_access_tokens order by id`.execute(ctx.app.db)
  t.same(rows, [
    { name: 'far', n60: true, n30: true, n7: true, expired: true },
    { name: 'in45', n60: true, n30: true, n7: true, expired: true },
    { name: 'in20', n60: false, n30: true, n7: true, expired: true },
    { name: 'in5', n60: false, n30: false, n7: true, expired: true },
    { name: 'bobs', n60: false, n30: true, n7: true, expired: true },
    { name: 'revoked', n60: false, n30: false, n7: false, expired: false },
  ])

  await worker.dispatchNow()
  // 6 created + 1 revoked + 16 expiry notices
  await waitForDeliveries(ctx, 23)
  const notices = smtp.mails.filter((m) => m.event === 'token.expiring' || m.event === 'token.expired')
  t.equal(notices.length, 16, 'one mail per notice')
  const subjects = notices.map((m) => `${m.to.join()} ${m.subject}`).sort()
  t.same(subjects, [
    'alice@example.com Your personal access token "far" expires in 30 days',
    'alice@example.com Your personal access token "far" expires in 60 days',
    'alice@example.com Your personal access token "far" expires in 7 days',
    'alice@example.com Your personal access token "far" has expired',
    'alice@example.com Your personal access token "in20" expires in 20 days',
    'alice@example.com Your personal access token "in20" expires in 7 days',
    'alice@example.com Your personal access token "in20" has expired',
    'alice@example.com Your personal access token "in45" expires in 30 days',
    'alice@example.com Your personal access token "in45" expires in 45 days',
    'alice@example.com Your personal access token "in45" expires in 7 days',
    'alice@example.com Your personal access token "in45" has expired',
    'alice@example.com Your personal access token "in5" expires in 5 days',
    'alice@example.com Your personal access token "in5" has expired',
    'bob@example.com Your personal access token "bobs" expires in 10 days',
    'bob@example.com Your personal access token "bobs" expires in 7 days',
    'bob@example.com Your personal access token "bobs" has expired',
  ])
  const in5 = notices.find((m) => m.subject.includes('"in5" expires'))!
  t.match(flat(in5.text), `expires on ${inDays(5, day0)} at 00:00 UTC, in 5 days`)
  t.match(flat(in5.text), new RegExp(`Token hint:\\s+${tokens.in5.token_hint}\\.\\.\\.`))
  t.match(flat(in5.text), `https://fgpat.example.com/api/v4/personal_access_tokens/${tokens.in5.id}/rotate`)
  for (const m of notices) for (const tok of Object.values(tokens)) t.notOk(m.raw.includes(tok.token!), 'no secret')
})

t.test('tokens long expired before the first sweep are not mailed about', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, worker } = await setUpJobs(t, { clock })
  await createToken(ctx, ALICE, { name: 'short', expires_at: inDays(2, clock()) })
  clock.advanceDays(10) // expired 8 days ago; the sweep never saw it in a window
  t.same((await worker.runSweep()).notices, { '60': 0, '30': 0, '7': 0, expired: 0 })
  clock.set(new Date(START))
  clock.advanceDays(8) // within the grace week: noticed
  t.same((await worker.runSweep()).notices, { '60': 0, '30': 0, '7': 0, expired: 1 })
})

t.test('a job scheduler runs the sweep every SWEEP_EVERY', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, smtp, startAnotherWorker } = await setUpJobs(t, { clock, env: { SWEEP_EVERY: '2h' } })
  await createToken(ctx, ALICE, { name: 'soon', expires_at: inDays(6, clock()) })
  const scheduled = await startAnotherWorker({ schedule: true })
  const scheduler = await scheduled.queues.maintenance.getJobScheduler(EXPIRY_SWEEP)
  t.equal(scheduler?.every, 2 * 3_600_000)
  // A scheduler with `every` produces its first job at once; it sends the 7-day notice.
  const mail = (await smtp.waitFor(2)).find((m) => m.event === 'token.expiring')
  t.equal(mail?.subject, 'Your personal access token "soon" expires in 6 days')
  const completed = await scheduled.queues.maintenance.getJobs(['completed'])
  t.match(completed.find((j) => j.name === EXPIRY_SWEEP)?.returnvalue, { notices: { '7': 1 }, revokedUnused: 0 })
})
