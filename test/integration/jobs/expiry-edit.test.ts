// Editing a token's expires_at clears the expiry-notice bookkeeping of every window the new date has
// not reached, so an extended token is noticed again (60/30/7 days); windows it is still inside
// keep their state, so nothing is mailed twice for the same window.
import { sql } from 'kysely'
import t from 'tap'
import type { TestContext } from '../../helpers/app.js'
import { manualClock } from '../../helpers/app.js'
import { ALICE, asUser, inDays } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { setUpJobs } from './setup.js'

const START = '2026-03-01T10:00:00Z'

async function bookkeeping(ctx: TestContext, id: number) {
  const { rows } = await sql<{ n60: boolean; n30: boolean; n7: boolean; expired: boolean }>`
    select expiry_notice_60_at is not null as n60, expiry_notice_30_at is not null as n30,
           expiry_notice_7_at is not null as n7, expired_notice_at is not null as expired
    from personal_access_tokens where id = ${id}`.execute(ctx.app.db)
  return rows[0]
}

async function windowsNoticed(ctx: TestContext, id: number) {
  const rows = await ctx.app.db.selectFrom('audit_events').select('details').where('action', '=', 'token.expiring').where('target_id', '=', String(id)).orderBy('id').execute()
  return rows.map((r) => (r.details as { window: number }).window)
}

t.test('an extended token gets its 60/30/7-day notices again', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, worker } = await setUpJobs(t, { clock })
  const patch = async (id: number, expiresAt: string) =>
    ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${id}`, headers: await asUser(ctx, ALICE), payload: { expires_at: expiresAt } })

  const token = await createToken(ctx, ALICE, { name: 'extended', expires_at: inDays(50, clock()) })
  await worker.runSweep() // 50 days left: the 60-day notice
  clock.advanceDays(25)
  await worker.runSweep() // 25 left: the 30-day notice
  t.same(await bookkeeping(ctx, token.id), { n60: true, n30: true, n7: false, expired: false })

  const extended = await patch(token.id, inDays(100, clock()))
  t.equal(extended.statusCode, 200, extended.body)
  t.same(await bookkeeping(ctx, token.id), { n60: false, n30: false, n7: false, expired: false }, 'no window of the new date is reached yet')
  const renamed = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE), payload: { name: 'renamed' } })
  t.equal(renamed.statusCode, 200)
  t.equal((await worker.runSweep()).notices['60'], 0, '100 days left: nothing due')

  clock.advanceDays(41) // 59 days left
  await worker.runSweep()
  clock.advanceDays(30) // 29 left
  await worker.runSweep()
  clock.advanceDays(23) // 6 left
  await worker.runSweep()
  t.same(await windowsNoticed(ctx, token.id), [60, 30, 60, 30, 7], 'every window noticed again after the extension')
})

t.test('windows the new date is still inside keep their notice', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, worker } = await setUpJobs(t, { clock })
  const token = await createToken(ctx, ALICE, { name: 'nudged', expires_at: inDays(5, clock()) })
  await worker.runSweep() // 5 days left: the 7-day notice
  t.same(await bookkeeping(ctx, token.id), { n60: false, n30: false, n7: true, expired: false })

  const nudged = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE), payload: { expires_at: inDays(6, clock()) } })
  t.equal(nudged.statusCode, 200, nudged.body)
  t.same(await bookkeeping(ctx, token.id), { n60: false, n30: false, n7: true, expired: false }, 'still inside the 7-day window: not noticed twice')
  t.same((await worker.runSweep()).notices, { '60': 0, '30': 0, '7': 0, expired: 0 })

  const pushed = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE), payload: { expires_at: inDays(20, clock()) } })
  t.equal(pushed.statusCode, 200, pushed.body)
  t.same(await bookkeeping(ctx, token.id), { n60: false, n30: false, n7: false, expired: false }, '20 days: the 7-day window is ahead again')
  t.same((await worker.runSweep()).notices, { '60': 0, '30': 1, '7': 0, expired: 0 }, 'the narrowest window due is noticed')
  const bad = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE), payload: { expires_at: 'soon' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
})
