// A revocation may carry the revoker's own words (?reason=, or a form/JSON body as GitLab clients
// send parameters): kept in the audit event as `comment`; too long is a 400 and nothing is revoked.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

t.test('revoke with a reason', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const events = async (id: number) => {
    const res = await ctx.app.inject({ method: 'GET', url: `/api/v4/audit_events?action=token.revoked&target_id=${id}`, headers: await asUser(ctx, ADMIN) })
    return res.json() as Array<{ details: Record<string, unknown> }>
  }

  const tooLong = await createToken(ctx, ALICE)
  const refused = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${tooLong.id}?reason=${'x'.repeat(501)}`, headers: await asUser(ctx, ADMIN) })
  t.equal(refused.statusCode, 400)
  t.match(refused.json().errors?.[0]?.path ?? refused.json().detail, /reason/)
  const still = await ctx.app.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${tooLong.id}`, headers: await asUser(ctx, ALICE) })
  t.equal(still.json().active, true, 'nothing revoked on a refused request')

  const viaQuery = await createToken(ctx, ALICE)
  const res = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${viaQuery.id}?reason=${encodeURIComponent('left the company')}`, headers: await asUser(ctx, ADMIN) })
  t.equal(res.statusCode, 204)
  const [event] = await events(viaQuery.id)
  t.match(event?.details, { revoke_reason: 'admin', comment: 'left the company' })

  const viaJson = await createToken(ctx, ALICE)
  const json = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${viaJson.id}`, headers: await asUser(ctx, ALICE), payload: { reason: 'not needed any more' } })
  t.equal(json.statusCode, 204)
  t.match((await events(viaJson.id))[0]?.details, { revoke_reason: 'owner', comment: 'not needed any more' })

  const without = await createToken(ctx, ALICE)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${without.id}`, headers: await asUser(ctx, ALICE) })
  t.notOk('comment' in ((await events(without.id))[0]?.details ?? {}), 'no reason, no comment')
})
