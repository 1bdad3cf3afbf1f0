// Unused tokens are revoked by the sweep when AUTO_REVOKE_UNUSED_DAYS is set: reason `unused`, an
// audit event, a mail to the owner, and the hot-path cache stops allowing the token at once.
import { sql } from 'kysely'
import t from 'tap'
import { manualClock } from '../../helpers/app.js'
import { ALICE, API_PROJECT, inDays } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { flat, setUpJobs, waitForDeliveries } from './setup.js'

// created_at comes from PostgreSQL's now(): the test clock starts at the real time and moves on.
const START = new Date()

t.test('tokens unused for longer than AUTO_REVOKE_UNUSED_DAYS are revoked, audited, mailed, and denied', async (t) => {
  const clock = manualClock(START)
  const { ctx, smtp, worker } = await setUpJobs(t, { clock, env: { AUTO_REVOKE_UNUSED_DAYS: '30' } })
  const service = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const authorize = async (secret: string) => {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: service, payload: { token: secret, permission: 'read_code', resource: { type: 'project', id: API_PROJECT } } })
    return (res.json() as { reason: string }).reason
  }

  const idle = await createToken(ctx, ALICE, { name: 'idle', expires_at: inDays(300, clock()) })
  const used = await createToken(ctx, ALICE, { name: 'used', expires_at: inDays(300, clock()) })
  const expired = await createToken(ctx, ALICE, { name: 'expired', expires_at: inDays(10, clock()) })
  t.equal(await authorize(idle.token!), 'allowed', 'idle is allowed (and now cached)')
  clock.advanceDays(20)
  await sql`update personal_access_tokens set last_used_at = ${clock()} where id = ${used.id}`.execute(ctx.app.db)
  clock.advanceDays(5)
  const fresh = await createToken(ctx, ALICE, { name: 'fresh', expires_at: inDays(300, clock()) })
  await sql`update personal_access_tokens set created_at = ${clock()} where id = ${fresh.id}`.execute(ctx.app.db)
  clock.advanceDays(6) // day 31: idle unused for 31 days, used for 11, fresh for 6; expired is expired

  const report = await worker.runSweep()
  t.equal(report.revokedUnused, 1)
  const rows = await ctx.app.db.selectFrom('personal_access_tokens').select(['name', 'revoked_at', 'revoke_reason', 'revoked_by', 'version']).orderBy('id').execute()
  t.match(rows, [
    { name: 'idle', revoke_reason: 'unused', revoked_by: 'system:auto_revoke', version: 2 },
    { name: 'used', revoked_at: null },
    { name: 'expired', revoked_at: null },
    { name: 'fresh', revoked_at: null },
  ])
  t.equal(rows[0].revoked_at?.toISOString(), clock().toISOString(), 'revoked at the sweep\'s time')

  let reason = await authorize(idle.token!)
  for (let i = 0; i < 40 && reason !== 'token_revoked'; i++) {
    await new Promise((r) => setTimeout(r, 25))
    reason = await authorize(idle.token!)
  }
  t.equal(reason, 'token_revoked', 'the API stops allowing it (cache invalidated by the worker)')
  t.equal(await authorize(used.token!), 'allowed')

  const audit = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.revoked').execute()
  t.equal(audit.length, 1)
  t.match(audit[0], { actor_type: 'system', actor_id: 'auto_revoke', target_id: String(idle.id), details: { revoke_reason: 'unused', unused_days: 30, last_used_at: null, name: 'idle' } })

  await worker.dispatchNow()
  await waitForDeliveries(ctx, 5)
  const mail = smtp.mails.find((m) => m.event === 'token.revoked')
  t.equal(mail?.subject, 'Your personal access token "idle" was revoked')
  t.same(mail?.to, ['alice@example.com'])
  t.match(flat(mail?.text), 'Tokens that are not used for 30 days are revoked automatically, and it was never used.')
  t.match(flat(mail?.text), /Revoked by:\s+fgpat, automatically/)
  t.match(flat(mail?.text), /Reason:\s+unused for 30 days/)
  t.notOk(smtp.mails.some((m) => [idle, used, expired, fresh].some((tok) => m.raw.includes(tok.token!))), 'no secret in any mail')

  t.equal((await worker.runSweep()).revokedUnused, 0, 'the next sweep finds nothing more')
})

t.test('auto-revocation is off by default', async (t) => {
  const clock = manualClock(START)
  const { ctx, worker } = await setUpJobs(t, { clock })
  t.equal(ctx.config.autoRevokeUnusedDays, 0)
  await createToken(ctx, ALICE, { name: 'idle', expires_at: inDays(300, clock()) })
  clock.advanceDays(200)
  t.equal((await worker.runSweep()).revokedUnused, 0)
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select('revoked_at').executeTakeFirstOrThrow()
  t.equal(row.revoked_at, null)
})
