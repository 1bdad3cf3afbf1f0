// The same question asked again and again, as backends do: every asking is decided from the cached
// entries (there is no memo of answers: it cost more CPU than it saved, bench/README.md), gets the
// same answer, is counted as a use on the day it was answered, and sees a change at once. The
// invariants after every kind of change (revoke, rotate, edit, block, moves, other instances) are
// in cache.test.ts.
import t from 'tap'
import { build, manualClock } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ALICE, API_PROJECT, asUser, BOB, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { directoryClient } from '../directory/client.js'

const api = { type: 'project', id: API_PROJECT }

t.test('a repeated question gets the same answer every time, each counted as a use', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE)
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 active
  const first = await authorize(token.token!, 'read_code', api)
  const again = []
  for (let i = 0; i < 4; i++) again.push(await authorize(token.token!, 'read_code', api))
  t.equal(first.allowed, true)
  t.same(again, [first, first, first, first], 'the same answer each time')
  await ctx.app.usage.flush()
  const row = await ctx.app.db.selectFrom('token_usage_daily').select(['allowed']).where('token_id', '=', token.id).where('permission', '=', 'read_code').executeTakeFirstOrThrow()
  t.equal(Number(row.allowed), 5, 'every asking is counted as a use')
  for (let i = 0; i < 2; i++) await authorize(token.token!, 'read_code', api) // counted again after the flush
  await ctx.app.usage.flush()
  const after2 = await ctx.app.db.selectFrom('token_usage_daily').select(['allowed']).where('token_id', '=', token.id).where('permission', '=', 'read_code').executeTakeFirstOrThrow()
  t.equal(Number(after2.allowed), 7, 'and again after a flush')
})

t.test('an answer does not outlive the date it was decided on, either way', async (t) => {
  const clock = manualClock(new Date('2026-12-01T23:59:59.700Z'))
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE, { expires_at: '2026-12-02' })
  await new Promise((r) => setTimeout(r, 100))
  for (let i = 0; i < 4; i++) t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'the last day')
  clock.set('2026-12-02T00:00:00.100Z') // 400 ms later, with the token's entry still cached: it expired at midnight
  for (let i = 0; i < 4; i++) t.equal((await authorize(token.token!, 'read_code', api)).reason, 'token_expired', 'expired at 00:00 UTC')
  clock.set('2026-12-01T23:59:59.900Z') // a clock set back must not get the later day's answer
  t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'the day before: allowed again')
  await ctx.app.usage.flush()
  const rows = await ctx.app.db.selectFrom('token_usage_daily').select(['day', 'allowed', 'denied']).where('token_id', '=', token.id).orderBy('day').execute()
  t.same(rows.map((r) => [String(r.day).slice(0, 10), Number(r.allowed), Number(r.denied)]), [['2026-12-01', 5, 0], ['2026-12-02', 0, 4]], 'usage counted on the day of each answer')
})

t.test('repeated questions about something missing, a malformed token or a user by name keep their answers', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  await new Promise((r) => setTimeout(r, 100))
  for (let i = 0; i < 4; i++) {
    t.equal((await authorize(token.token!, 'read_code', { type: 'project', id: 999_999 })).reason, 'resource_not_found')
    t.equal((await authorize(`${token.token!.slice(0, 10)}${token.token![10] === 'x' ? 'y' : 'x'}${token.token!.slice(11)}`, 'read_code', api)).reason, 'malformed_token')
    t.equal((await authorize(token.token!, 'read_user', { type: 'user', path: 'alice' })).allowed, true)
    t.equal((await authorize(token.token!, 'read_user', { type: 'user', id: ALICE })).allowed, true)
  }
})

t.test('a question is never answered as another one asked just before', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'read_merge_request'] }] })
  await new Promise((r) => setTimeout(r, 100))
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const ask = (body: Record<string, unknown>) => ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token: token.token, resource: api, ...body } })
  const list = await ask({ permissions: ['read_code', 'read_merge_request'] })
  t.equal(list.json().allowed, true, 'two permissions, both granted')
  for (let i = 0; i < 2; i++) t.equal((await ask({ permissions: ['read_code', 'read_merge_request'] })).json().allowed, true, 'asked again')
  // Once answered 200 allowed by a memo whose key joined the list above into this one name.
  const oneName = await ask({ permission: 'read_code,read_merge_request' })
  t.equal(oneName.statusCode, 400, 'one unknown permission name is a bad request, not the answer to the list')
  t.equal(oneName.json().code, 'invalid_permission')
})

t.test('a change is seen by the next asking of a question asked many times, and only where it applies', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const alices = await createToken(ctx, ALICE)
  const bobs = await createToken(ctx, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code'] }] })
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 active
  const warm = async (secret: string) => {
    for (let i = 0; i < 3; i++) t.equal((await authorize(secret, 'read_code', api)).allowed, true, 'allowed')
  }
  await warm(alices.token!)
  await warm(bobs.token!)

  // Another user's token revoked: Alice's token and Alice are untouched.
  const revoked = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${bobs.id}`, headers: await asUser(ctx, BOB) })
  t.equal(revoked.statusCode, 204)
  t.equal((await authorize(alices.token!, 'read_code', api)).allowed, true, 'another token\'s revocation leaves Alice\'s answer')
  t.equal((await authorize(bobs.token!, 'read_code', api)).reason, 'token_revoked', 'the revoked token\'s own answer is gone at once')

  // Alice's own token edited.
  const edited = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${alices.id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['push_code'] }] } })
  t.equal(edited.statusCode, 200, edited.body)
  t.equal((await authorize(alices.token!, 'read_code', api)).reason, 'permission_not_granted', 'her token changed: decided again')

  // Alice herself changed (her memberships): every token she owns is decided on her memberships.
  const second = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['push_code'] }] })
  for (let i = 0; i < 3; i++) t.equal((await authorize(second.token!, 'push_code', api)).allowed, true, 'allowed as maintainer of acme/platform/api')
  const directory = await directoryClient(ctx)
  for (const ns of [ACME, API_PROJECT]) { // developer on acme, maintainer on its api project: reporter on both
    const lowered = await directory.putMember(ns, ALICE, { access_level: 20 })
    t.equal(lowered.statusCode < 300, true, lowered.body)
  }
  t.equal((await authorize(second.token!, 'push_code', api)).reason, 'insufficient_role', 'her membership lowered: denied at once')
})

// lru-cache's default clock (ttlResolution: 1) arms a timer on the first access of each millisecond
// to forget the time it read: ~1,000 timers a second under load, each an extra wake-up of the event
// loop (1-3% of a decision's CPU in the realistic mix, bench/README.md). L1 reads the clock instead.
t.test('lookups answered from L1 set no timer', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE)
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 active
  t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'decided once: the owner and the project are in L1')
  const cache = ctx.app.policyCache
  const realSetTimeout = globalThis.setTimeout
  let timers = 0
  const counting = ((...args: Parameters<typeof setTimeout>) => {
    timers++
    return realSetTimeout(...args)
  }) as typeof setTimeout
  // Each asking in a new millisecond, after the previous one's turn: the default clock arms its
  // timer on the first access of each millisecond (and the pause's own timer is not counted). A
  // round in which L1 was not trusted (a heartbeat late on a loaded machine) is not counted either:
  // the lookups then go to Redis, whose commands have timers of their own.
  let fromL1 = 0
  for (let tries = 0; fromL1 < 5 && tries < 100; tries++) {
    await new Promise((r) => realSetTimeout(r, 3))
    const before = timers
    let answers: unknown[]
    globalThis.setTimeout = counting
    try {
      answers = [cache.owner(ALICE), cache.namespace(API_PROJECT)]
    } finally {
      globalThis.setTimeout = realSetTimeout
    }
    if (answers.some((a) => a instanceof Promise || a === undefined)) {
      timers = before
      await Promise.allSettled(answers)
      continue
    }
    fromL1++
  }
  t.equal(fromL1, 5, 'five rounds answered from L1')
  t.equal(timers, 0, 'no timer armed by the lookups')
})
