// Reuse detection on presentation: a secret that rotation replaced, presented again anywhere, is
// recorded (with the presenting IP), alerts the owner and — by policy — revokes the rotation family.
// The request that presented it is answered at once, as before; the rest follows in the background.
import t from 'tap'
import type { TestContext } from '../../helpers/app.js'
import { build, manualClock } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'

const readCode = (groupIds: number[]) => [{ access: 'selected_memberships', group_ids: groupIds, permissions: ['read_code'] }]

/** A token rotated once by its owner: the rotated-away one and its active successor. */
async function rotatedPair(ctx: TestContext, groupIds = [ACME]) {
  const old = await createToken(ctx, ALICE, { granular_scopes: readCode(groupIds) })
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${old.id}/rotate`, headers: await asUser(ctx, ALICE) })
  if (res.statusCode !== 200) throw new Error(res.body)
  return { old, successor: res.json() as TokenJson }
}

async function stateOf(ctx: TestContext, id: number) {
  return ctx.app.db.selectFrom('personal_access_tokens').select(['revoked_at', 'revoke_reason', 'revoked_by']).where('id', '=', id).executeTakeFirstOrThrow()
}

async function reuseEvents(ctx: TestContext) {
  return ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.reuse_detected').orderBy('id').execute()
}

async function setReuse(ctx: TestContext, where: 'instance' | number, value: string | null) {
  const url = where === 'instance' ? '/api/v4/application/settings/personal_access_tokens' : `/api/v4/groups/${where}/personal_access_token_policy`
  const res = await ctx.app.inject({ method: 'PUT', url, headers: await asUser(ctx, ADMIN), payload: { reuse_detection: value } })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res.json() as { reuse_detection: string | null }
}

t.test('the old secret as an API credential: 401 at once, then the event, the family revoked, one alert per interval', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { old, successor } = await rotatedPair(ctx)
  const other = await createToken(ctx, ALICE)

  const res = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(old.token!) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'token_revoked', 'the answer is the plain revoked answer, nothing waits for the reuse handling')
  await ctx.app.reuse.settled()

  t.match(await stateOf(ctx, successor.id), { revoke_reason: 'reuse_detected', revoked_by: 'system:reuse_detection' }, 'the active successor is revoked')
  t.equal((await stateOf(ctx, other.id)).revoked_at, null, 'another family of the same owner is untouched')
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(successor.token!) })).statusCode, 401, 'the successor no longer authenticates')
  const [event, ...more] = await reuseEvents(ctx)
  t.equal(more.length, 0)
  t.match(event, { target_id: String(old.id), actor_type: 'system', actor_id: 'reuse_detection' })
  t.match(JSON.parse(JSON.stringify(event.details)), { presented_via: 'api', response: 'revoke_family', revoked_token_ids: [successor.id], user_id: ALICE, token_hint: old.token_hint })
  const revokedEvents = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.revoked').where('target_id', '=', String(successor.id)).execute()
  t.equal(revokedEvents.length, 1, 'the revocation has its own event')
  t.notOk(JSON.stringify(event).includes(old.token!), 'no secret in the event')

  // Presented again (a replaying attacker, a retrying job): no second event within the interval.
  for (let i = 0; i < 5; i++) await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(old.token!) })
  await ctx.app.reuse.settled()
  t.equal((await reuseEvents(ctx)).length, 1, 'one event per token per interval')
})

t.test('a token revoked for another reason is not reuse', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })).statusCode, 401)
  const authorize = await authorizer(ctx)
  t.equal((await authorize(token.token!, 'read_code', { type: 'project', id: API_PROJECT })).reason, 'token_revoked')
  await ctx.app.reuse.settled()
  t.equal((await reuseEvents(ctx)).length, 0)
})

t.test('/authorize: the decision stays token_revoked, the successor is denied right after', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { old, successor } = await rotatedPair(ctx)
  const authorize = await authorizer(ctx)
  const question = ['read_code', { type: 'project', id: API_PROJECT }] as const
  t.equal((await authorize(successor.token!, ...question)).allowed, true, 'the successor works (and is cached)')
  const presented = performance.now()
  const decision = await authorize(old.token!, ...question, { ip: '198.51.100.7' })
  const answered = performance.now()
  t.match(decision, { allowed: false, reason: 'token_revoked' })
  await ctx.app.reuse.settled()
  t.comment(`answer ${(answered - presented).toFixed(1)} ms; family revoked and caches told ${(performance.now() - presented).toFixed(1)} ms after the presentation`)
  t.match(await authorize(successor.token!, ...question), { allowed: false, reason: 'token_revoked' }, 'the cached allow was invalidated')
  const [event] = await reuseEvents(ctx)
  t.match(event, { ip: '198.51.100.7' }, 'the IP is the one the backend reported for the request')
  t.match(JSON.parse(JSON.stringify(event.details)), { presented_via: 'authorize', presented_ip: '198.51.100.7' })
})

t.test('batch and introspection are presentations too', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const service = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const viaBatch = await rotatedPair(ctx)
  const batch = await ctx.app.inject({
    method: 'POST', url: '/api/v4/authorize/batch', headers: service,
    payload: { token: viaBatch.old.token, checks: [{ permission: 'read_code', resource: { type: 'project', id: API_PROJECT } }] },
  })
  t.equal(batch.json().results[0].reason, 'token_revoked')

  const viaIntrospection = await rotatedPair(ctx)
  const introspect = await ctx.app.inject({
    method: 'POST', url: '/oauth/introspect', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` },
    payload: { token: viaIntrospection.old.token },
  })
  t.same(introspect.json(), { active: false })
  await ctx.app.reuse.settled()
  const events = await reuseEvents(ctx)
  t.same(events.map((e) => [e.target_id, (e.details as { presented_via: string }).presented_via]).sort(), [
    [String(viaBatch.old.id), 'authorize'], [String(viaIntrospection.old.id), 'introspection'],
  ].sort())
  t.equal((await stateOf(ctx, viaBatch.successor.id)).revoke_reason, 'reuse_detected')
  t.equal((await stateOf(ctx, viaIntrospection.successor.id)).revoke_reason, 'reuse_detected')
})

t.test('reuse_detection policy: notify keeps the successor; the stricter of instance and groups wins', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  t.equal((await ctx.app.inject({ url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, ADMIN) })).json().reuse_detection, 'revoke_family', 'the default is GitLab\'s')
  t.match(await setReuse(ctx, 'instance', 'notify'), { reuse_detection: 'notify' })

  const notified = await rotatedPair(ctx)
  await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(notified.old.token!) })
  await ctx.app.reuse.settled()
  t.equal((await stateOf(ctx, notified.successor.id)).revoked_at, null, 'notify: the successor keeps working')
  t.match((await reuseEvents(ctx))[0].details, { response: 'notify', revoked_token_ids: [] }, 'but the reuse is recorded (and mailed)')

  // A group the token reaches asks for revoke_family: stricter than the instance, it wins.
  await setReuse(ctx, ACME, 'revoke_family')
  const inAcme = await rotatedPair(ctx, [ACME])
  const elsewhere = await rotatedPair(ctx, [OPENSOURCE])
  for (const pair of [inAcme, elsewhere]) await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(pair.old.token!) })
  await ctx.app.reuse.settled()
  t.equal((await stateOf(ctx, inAcme.successor.id)).revoke_reason, 'reuse_detected', 'reaching acme (revoke_family): revoked')
  t.equal((await stateOf(ctx, elsewhere.successor.id)).revoked_at, null, 'reaching only opensource (no opinion): the instance\'s notify applies')

  // A group cannot loosen the instance: notify on a group under an instance revoke_family revokes.
  await setReuse(ctx, 'instance', 'revoke_family')
  await setReuse(ctx, ACME, 'notify')
  const loosened = await rotatedPair(ctx, [ACME])
  await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(loosened.old.token!) })
  await ctx.app.reuse.settled()
  t.equal((await stateOf(ctx, loosened.successor.id)).revoke_reason, 'reuse_detected')

  const bad = await ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, ADMIN), payload: { reuse_detection: 'ignore' } })
  t.equal(bad.statusCode, 400, 'only revoke_family or notify')
  const nullOnInstance = await ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, ADMIN), payload: { reuse_detection: null } })
  t.equal(nullOnInstance.statusCode, 400, 'the instance always has a value')
  t.match(await setReuse(ctx, ACME, null), { reuse_detection: null }, 'a group may leave it to the instance')
})

t.test('rotating a rotated-away token under notify: reuse recorded, nothing revoked', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await setReuse(ctx, 'instance', 'notify')
  const { old, successor } = await rotatedPair(ctx)
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${old.id}/rotate`, headers: await asUser(ctx, ADMIN) })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'token_reused')
  t.match(res.json().detail, /reuse_detection: notify/)
  t.equal((await stateOf(ctx, successor.id)).revoked_at, null)
  t.match((await reuseEvents(ctx))[0], { actor_type: 'user', actor_id: String(ADMIN), details: { presented_via: 'rotate', response: 'notify' } })
})

t.test('a self-rotation retried with the same secret is a retry, not reuse; its in-flight requests too', async (t) => {
  const clock = manualClock()
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const rotating = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['rotate_personal_access_token', 'read_user'] }] })
  const first = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(rotating.token!), payload: {} })
  t.equal(first.statusCode, 200, first.body)
  const successor = first.json() as TokenJson
  // The response was lost: the client retries with the secret it still has.
  const retry = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(rotating.token!), payload: {} })
  t.equal(retry.statusCode, 409, retry.body)
  t.match(retry.json(), { code: 'already_rotated', successor_id: successor.id })
  t.notOk(retry.body.includes(successor.token!), 'never the secret again')
  // Requests it sent with the old secret meanwhile are its own, not a leak.
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(rotating.token!) })).statusCode, 401)
  const authorize = await authorizer(ctx)
  t.equal((await authorize(rotating.token!, 'read_user', { type: 'user', id: ALICE })).reason, 'token_revoked')
  await ctx.app.reuse.settled()
  t.equal((await stateOf(ctx, successor.id)).revoked_at, null, 'the successor stays active')
  t.equal((await reuseEvents(ctx)).length, 0, 'no reuse recorded')

  // After the leeway the old secret is a copy somewhere else: reuse.
  clock.set(new Date(clock().getTime() + 61_000))
  const late = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(rotating.token!), payload: {} })
  t.equal(late.statusCode, 401)
  await ctx.app.reuse.settled()
  t.equal((await stateOf(ctx, successor.id)).revoke_reason, 'reuse_detected')
})

t.test('reuse racing a rotation of the successor: no member of the family is left active', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const admin = await asUser(ctx, ADMIN)
  const alice = await asUser(ctx, ALICE)
  for (let round = 0; round < 8; round++) {
    const { old, successor } = await rotatedPair(ctx)
    // The owner rotates the live successor while someone rotates the rotated-away token (reuse).
    const [rotation, reuse] = await Promise.all([
      ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${successor.id}/rotate`, headers: alice }),
      ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${old.id}/rotate`, headers: admin }),
    ])
    t.equal(reuse.json().code, 'token_reused')
    t.ok([200, 400].includes(rotation.statusCode), `the rotation either won (200) or found its token revoked (400): ${rotation.statusCode}`)
    const active = await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('family_id', '=', old.id).where('revoked_at', 'is', null).execute()
    t.same(active, [], `round ${round}: the family is fully revoked (${rotation.statusCode === 200 ? 'rotation first' : 'reuse first'})`)
  }
})
