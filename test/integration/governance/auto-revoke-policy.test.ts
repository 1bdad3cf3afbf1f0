// auto_revoke_unused_days from instance settings and top-level group policies, applied by the
// worker's sweep together with AUTO_REVOKE_UNUSED_DAYS: the strictest limit a token falls under
// wins, 0/null is off, the revocation is audited (outbox → mail) and the API denies at once.
import { sql } from 'kysely'
import t from 'tap'
import type { TestContext } from '../../helpers/app.js'
import { manualClock } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, CAROL, CLI_PROJECT, DOTFILES, inDays, OPENSOURCE } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { flat, setUpJobs, waitForDeliveries } from '../jobs/setup.js'
import { ok, putGroup, putInstance } from './helpers.js'

// created_at comes from PostgreSQL's now(): the test clock starts at the real time and moves on.
const START = new Date()
const on = (projectId: number) => ({ granular_scopes: [{ access: 'selected_memberships', project_ids: [projectId], permissions: ['read_code'] }] })

async function revocations(ctx: TestContext) {
  const rows = await ctx.app.db.selectFrom('personal_access_tokens').select(['id', 'revoke_reason', 'revoked_by']).where('revoked_at', 'is not', null).orderBy('id').execute()
  return rows
}

async function revokedEvents(ctx: TestContext) {
  return ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.revoked').orderBy('id').execute()
}

/** An /authorize call per try until it denies: other instances learn of the change over pub/sub. */
async function reasonEventually(ctx: TestContext, secret: string, projectId: number, want: string) {
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  let reason = ''
  for (let i = 0; i < 40 && reason !== want; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 25))
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token: secret, permission: 'read_code', resource: { type: 'project', id: projectId } } })
    reason = (res.json() as { reason: string }).reason
  }
  return reason
}

const ids = (tokens: TokenJson[]) => tokens.map((x) => x.id).sort((a, b) => a - b)

t.test('the instance setting revokes unused tokens, names itself, and null switches it off', async (t) => {
  const clock = manualClock(START)
  const { ctx, smtp, worker } = await setUpJobs(t, { clock, env: { AUTO_REVOKE_UNUSED_DAYS: '0' } })
  const idle = await createToken(ctx, ALICE, { name: 'idle', expires_at: inDays(300, clock()), ...on(API_PROJECT) })
  const used = await createToken(ctx, ALICE, { name: 'used', expires_at: inDays(300, clock()), ...on(API_PROJECT) })
  t.equal(await reasonEventually(ctx, idle.token!, API_PROJECT, 'allowed'), 'allowed', 'allowed before the sweep (and now cached)')
  await ok(putInstance(ctx, { auto_revoke_unused_days: 30 }))

  clock.advanceDays(20)
  await sql`update personal_access_tokens set last_used_at = ${clock()} where id = ${used.id}`.execute(ctx.app.db)
  clock.advanceDays(11) // idle: 31 days unused; used: 11
  t.equal((await worker.runSweep()).revokedUnused, 1)
  t.same(await revocations(ctx), [{ id: idle.id, revoke_reason: 'unused', revoked_by: 'system:auto_revoke' }])
  t.equal(await reasonEventually(ctx, idle.token!, API_PROJECT, 'token_revoked'), 'token_revoked', 'the cache was invalidated by the worker')
  t.equal(await reasonEventually(ctx, used.token!, API_PROJECT, 'allowed'), 'allowed')

  const [event] = await revokedEvents(ctx)
  t.match(event, {
    actor_type: 'system', actor_id: 'auto_revoke', target_id: String(idle.id), namespace_id: null,
    details: { revoke_reason: 'unused', unused_days: 30, policy: 'instance settings', policy_source: 'instance_settings', policy_knob: 'auto_revoke_unused_days' },
  })
  await worker.dispatchNow()
  await waitForDeliveries(ctx, 3) // the outbox mailed it: two created mails, one revoked
  const mail = smtp.mails.find((m) => m.event === 'token.revoked')
  t.match(flat(mail?.text), /Reason:\s+unused for 30 days \(instance settings\)/)
  t.match(flat(mail?.text), 'The rule is set by the instance settings.')

  await ok(putInstance(ctx, { auto_revoke_unused_days: null }))
  clock.advanceDays(200)
  t.equal((await worker.runSweep()).revokedUnused, 0, 'null: off (and AUTO_REVOKE_UNUSED_DAYS=0 is off too)')
})

t.test('a group policy revokes only the tokens that reach the group', async (t) => {
  const clock = manualClock(START)
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  const exp = { expires_at: inDays(300, clock()) }
  const inAcme = await createToken(ctx, ALICE, { name: 'selected under acme', ...exp, ...on(API_PROJECT) })
  const inOss = await createToken(ctx, ALICE, { name: 'selected under opensource', ...exp, ...on(CLI_PROJECT) })
  await createToken(ctx, ALICE, { name: 'personal project', ...exp, ...on(DOTFILES) })
  const broad = await createToken(ctx, ALICE, { name: 'all memberships', ...exp, granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  const legacy = await createToken(ctx, ALICE, { name: 'legacy', ...exp, granular_scopes: undefined, scopes: ['read_api'] })
  await createToken(ctx, CAROL, { name: 'no memberships', ...exp, granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })

  const zero = await putGroup(ctx, ACME, { auto_revoke_unused_days: 0 })
  t.equal(zero.statusCode, 400, 'null switches it off; 0 is not a limit')
  t.equal(zero.headers['content-type'], 'application/problem+json; charset=utf-8')
  await ok(putGroup(ctx, ACME, { auto_revoke_unused_days: 10 }))

  clock.advanceDays(11)
  t.equal((await worker.runSweep()).revokedUnused, 3)
  t.same((await revocations(ctx)).map((r) => r.id), ids([inAcme, broad, legacy]), 'selected under acme, and the broad tokens of an acme member')
  t.equal(await reasonEventually(ctx, inAcme.token!, API_PROJECT, 'token_revoked'), 'token_revoked')
  t.equal(await reasonEventually(ctx, inOss.token!, CLI_PROJECT, 'allowed'), 'allowed', 'a token outside acme keeps working')
  const events = await revokedEvents(ctx)
  t.equal(events.length, 3)
  for (const e of events) {
    t.match(e, { namespace_id: ACME, details: { unused_days: 10, policy: `group acme (${ACME}) policy`, policy_source: 'group_policy', policy_group_id: ACME } })
  }
  const groupLog = await ok<{ action: string }[]>(ctx.app.inject({ url: `/api/v4/groups/${ACME}/audit_events?action=token.revoked`, headers: await asUser(ctx, ADMIN) }))
  t.equal(groupLog.length, 3, 'in the group\'s audit log')

  await worker.dispatchNow()
  await waitForDeliveries(ctx, 6 + 3)
  const mail = smtp.mails.find((m) => m.event === 'token.revoked')
  t.match(flat(mail?.text), 'The rule is set by the token policy of the group "acme".')

  clock.advanceDays(300 - 12)
  t.equal((await worker.runSweep()).revokedUnused, 0, 'nothing else reaches acme')
  t.same((await revocations(ctx)).map((r) => r.id), ids([inAcme, broad, legacy]))
})

t.test('the strictest limit wins; a looser group or instance value never loosens another', async (t) => {
  const clock = manualClock(START)
  const { ctx, worker } = await setUpJobs(t, { clock, env: { AUTO_REVOKE_UNUSED_DAYS: '40' } })
  const exp = { expires_at: inDays(300, clock()) }
  const inAcme = await createToken(ctx, ALICE, { name: 'acme', ...exp, ...on(API_PROJECT) })
  const inOss = await createToken(ctx, ALICE, { name: 'opensource', ...exp, ...on(CLI_PROJECT) })
  const personal = await createToken(ctx, ALICE, { name: 'personal', ...exp, ...on(DOTFILES) })
  await ok(putInstance(ctx, { auto_revoke_unused_days: 30 }))
  await ok(putGroup(ctx, ACME, { auto_revoke_unused_days: 45 }))
  await ok(putGroup(ctx, OPENSOURCE, { auto_revoke_unused_days: 10 }))

  clock.advanceDays(11)
  t.equal((await worker.runSweep()).revokedUnused, 1)
  clock.advanceDays(20) // day 31
  t.equal((await worker.runSweep()).revokedUnused, 2)
  const events = await revokedEvents(ctx)
  const by = new Map(events.map((e) => [Number(e.target_id), e.details as Record<string, unknown>]))
  t.match(by.get(inOss.id), { unused_days: 10, policy_source: 'group_policy', policy_group_id: OPENSOURCE }, 'the group stricter than the instance')
  t.match(by.get(inAcme.id), { unused_days: 30, policy_source: 'instance_settings' }, 'acme\'s 45 days do not loosen the instance\'s 30')
  t.match(by.get(personal.id), { unused_days: 30, policy_source: 'instance_settings' })
})

t.test('AUTO_REVOKE_UNUSED_DAYS is a floor the instance settings cannot loosen', async (t) => {
  const clock = manualClock(START)
  const { ctx, worker } = await setUpJobs(t, { clock, env: { AUTO_REVOKE_UNUSED_DAYS: '20' } })
  const token = await createToken(ctx, ALICE, { expires_at: inDays(300, clock()), ...on(API_PROJECT) })
  await ok(putInstance(ctx, { auto_revoke_unused_days: 90 }))
  clock.advanceDays(19)
  t.equal((await worker.runSweep()).revokedUnused, 0)
  clock.advanceDays(2)
  t.equal((await worker.runSweep()).revokedUnused, 1)
  const [event] = await revokedEvents(ctx)
  t.match(event, { target_id: String(token.id), details: { unused_days: 20, policy: 'AUTO_REVOKE_UNUSED_DAYS', policy_source: 'configuration' } })
})
