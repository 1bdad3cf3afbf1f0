// The end of a conversion's grace, on a clock the test moves: a reminder a few days before, then
// the legacy token revoked (reason converted) by the sweep, each exactly once and mailed; the
// hot-path cache stops allowing it at once. What happens to the successor, or an early manual
// revoke, never brings a legacy token back.
import t from 'tap'
import { manualClock, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ALICE, API_PROJECT, asUser, inDays } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { flat, setUpJobs, waitForDeliveries } from './setup.js'

// created_at comes from PostgreSQL's now(): the test clock starts at the real time and moves on.
const START = new Date()
const readOnApi = [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }]

async function legacyToken(ctx: TestContext, name: string, from: Date) {
  return createToken(ctx, ALICE, { name, scopes: ['api'], granular_scopes: undefined, expires_at: inDays(300, from) })
}

async function convert(ctx: TestContext, id: number) {
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${id}/convert`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: readOnApi } })
  if (res.statusCode !== 201) throw new Error(`convert answered ${res.statusCode}: ${res.body}`)
  return res.json() as TokenJson
}

const stateOf = (ctx: TestContext, id: number) =>
  ctx.app.db.selectFrom('personal_access_tokens').select(['revoked_at', 'revoke_reason', 'revoked_by', 'conversion_reminder_at']).where('id', '=', id).executeTakeFirstOrThrow()

t.test('reminder, then revocation with reason converted, each once; mails; the cache stops allowing it', async (t) => {
  const clock = manualClock(START)
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  const authorize = await authorizer(ctx)
  const legacy = await legacyToken(ctx, 'deploy script', clock())
  const successor = await convert(ctx, legacy.id)
  t.equal((await authorize(legacy.token!, 'push_code', { type: 'project', id: API_PROJECT })).allowed, true, 'allowed (and now cached)')

  clock.advanceDays(10)
  let report = await worker.runSweep()
  t.match(report, { conversionReminders: 0, revokedConverted: 0 }, 'day 10: nothing due yet')

  clock.advanceDays(1.5) // 2.5 days left
  report = await worker.runSweep()
  t.match(report, { conversionReminders: 1, revokedConverted: 0 }, 'day 11.5: the reminder')
  t.match(await worker.runSweep(), { conversionReminders: 0, revokedConverted: 0 }, 'exactly once')
  const [a, b] = await Promise.all([worker.runSweep(), worker.runSweep()])
  t.equal(a.conversionReminders + b.conversionReminders, 0, 'even for concurrent sweeps')
  t.equal((await authorize(legacy.token!, 'push_code', { type: 'project', id: API_PROJECT })).allowed, true, 'still working during the grace')

  clock.advanceDays(2.6) // past the 14 days
  report = await worker.runSweep()
  t.match(report, { conversionReminders: 0, revokedConverted: 1 })
  t.match(await stateOf(ctx, legacy.id), { revoke_reason: 'converted', revoked_by: 'system:conversion' })
  t.equal((await stateOf(ctx, legacy.id)).revoked_at?.toISOString(), clock().toISOString(), 'revoked at the sweep\'s time')
  t.match(await Promise.all([worker.runSweep(), worker.runSweep()]), [{ revokedConverted: 0 }, { revokedConverted: 0 }], 'exactly once')

  let reason = (await authorize(legacy.token!, 'push_code', { type: 'project', id: API_PROJECT })).reason
  for (let i = 0; i < 40 && reason !== 'token_revoked'; i++) {
    await new Promise((r) => setTimeout(r, 25))
    reason = (await authorize(legacy.token!, 'push_code', { type: 'project', id: API_PROJECT })).reason
  }
  t.equal(reason, 'token_revoked', 'the API stops allowing it (cache invalidated by the worker)')
  t.equal((await authorize(successor.token!, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true, 'the successor is unaffected')

  const events = await ctx.app.db.selectFrom('audit_events').select(['action', 'target_id', 'actor_type', 'actor_id', 'details'])
    .where('action', 'in', ['token.converted', 'token.conversion_reminder', 'token.revoked']).orderBy('id').execute()
  t.match(events, [
    { action: 'token.converted', target_id: String(successor.id), details: { converted_from_id: legacy.id } },
    { action: 'token.conversion_reminder', target_id: String(legacy.id), actor_type: 'system', actor_id: 'conversion', details: { converted_to: successor.id } },
    { action: 'token.revoked', target_id: String(legacy.id), actor_type: 'system', actor_id: 'conversion', details: { revoke_reason: 'converted', converted_to: successor.id } },
  ])

  await worker.dispatchNow()
  await waitForDeliveries(ctx, 4) // created (the legacy token), converted, reminder, revoked
  const mail = (event: string) => smtp.mails.find((m) => m.event === event)
  const graceEnd = (events[0].details as { conversion_grace_ends_at: string }).conversion_grace_ends_at
  const graceText = `${graceEnd.slice(0, 16).replace('T', ' ')} UTC`

  const converted = mail('token.converted')
  t.equal(converted?.subject, 'Your legacy token "deploy script" was converted to the fine-grained token "deploy script"')
  t.same(converted?.to, ['alice@example.com'])
  t.match(flat(converted?.text), `You converted your legacy personal access token "deploy script" (#${legacy.id}) into a new fine-grained token`)
  t.match(flat(converted?.text), `The legacy token keeps working until ${graceText}. Then it is revoked automatically`)
  t.match(flat(converted?.text), /Permissions of the new token .*Repository: Read code|read_code/)
  t.match(flat(converted?.text), 'project acme/platform/api')

  const reminder = mail('token.conversion_reminder')
  t.equal(reminder?.subject, 'Your legacy token "deploy script" will be revoked in 3 days')
  t.match(flat(reminder?.text), `was converted to the fine-grained token #${successor.id}. It keeps working until ${graceText}`)

  const revoked = mail('token.revoked')
  t.equal(revoked?.subject, 'Your personal access token "deploy script" was revoked')
  t.match(flat(revoked?.text), `It was converted to the fine-grained token #${successor.id}, which replaces it.`)
  t.match(flat(revoked?.text), /Reason:\s+replaced by a fine-grained token \(conversion\)/)
  t.match(flat(revoked?.text), /Revoked by:\s+fgpat, automatically/)
  t.notOk(smtp.mails.some((m) => m.raw.includes(legacy.token!) || m.raw.includes(successor.token!)), 'no secret in any mail')
})

t.test('the successor revoked or rotated, or the legacy token revoked early by hand: nothing comes back', async (t) => {
  const clock = manualClock(START)
  const { ctx, worker } = await setUpJobs(t, { clock })
  const alice = await asUser(ctx, ALICE)
  const authorize = await authorizer(ctx)

  const early = await legacyToken(ctx, 'revoked early', clock())
  await convert(ctx, early.id)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${early.id}`, headers: alice })).statusCode, 204, 'revoking during the grace just works')

  const withRevokedSuccessor = await legacyToken(ctx, 'successor revoked', clock())
  const s1 = await convert(ctx, withRevokedSuccessor.id)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${s1.id}`, headers: alice })).statusCode, 204)

  const withRotatedSuccessor = await legacyToken(ctx, 'successor rotated', clock())
  const s2 = await convert(ctx, withRotatedSuccessor.id)
  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${s2.id}/rotate`, headers: alice })
  t.equal(rotated.statusCode, 200, rotated.body)

  clock.advanceDays(15)
  const report = await worker.runSweep()
  t.equal(report.revokedConverted, 2, 'the two still live are revoked as scheduled')
  t.match(await stateOf(ctx, early.id), { revoke_reason: 'owner' }, 'the early revoke stands, untouched')
  t.match(await stateOf(ctx, withRevokedSuccessor.id), { revoke_reason: 'converted' })
  t.match(await stateOf(ctx, withRotatedSuccessor.id), { revoke_reason: 'converted' })
  t.equal((await authorize(rotated.json().token, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true, 'the rotated successor works')

  // Rotating the successor again, or revoking it, never resurrects the legacy token.
  await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotated.json().id}/rotate`, headers: alice })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${s1.id}`, headers: alice })
  t.equal((await worker.runSweep()).revokedConverted, 0)
  for (const legacy of [early, withRevokedSuccessor, withRotatedSuccessor]) {
    t.equal((await authorize(legacy.token!, 'read_code', { type: 'project', id: API_PROJECT })).reason, 'token_revoked', `${legacy.name}: revoked for good`)
  }
  const revokes = await ctx.app.db.selectFrom('audit_events').select('target_id').where('action', '=', 'token.revoked').where('target_id', '=', String(early.id)).execute()
  t.equal(revokes.length, 1, 'the early-revoked token got one revocation event, not a second from the sweep')
})
