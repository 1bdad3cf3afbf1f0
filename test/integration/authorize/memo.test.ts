// The decision memo (src/modules/authorize/decision-memo.ts) answers repeated questions; these
// tests show when it must not. The invariants after changes (revoke, rotate, edit, block, moves,
// other instances) are in cache.test.ts and hold with the memo in front.
import t from 'tap'
import { build, manualClock } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ALICE, API_PROJECT, asUser, BOB, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { directoryClient } from '../directory/client.js'

const api = { type: 'project', id: API_PROJECT }

async function memoCounts(ctx: Awaited<ReturnType<typeof build>>) {
  const text = (await ctx.app.inject({ method: 'GET', url: '/metrics' })).body
  const count = (result: string) => Number(new RegExp(`fgpat_decision_memo_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
  return { hit: count('hit'), miss: count('miss') }
}

t.test('a repeated question is answered from the memo, with the same answer and usage counted', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE)
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 (and so the memo) active
  const before = await memoCounts(ctx)
  const first = await authorize(token.token!, 'read_code', api)
  const decided = [await authorize(token.token!, 'read_code', api), await authorize(token.token!, 'read_code', api)]
  const afterThree = await memoCounts(ctx)
  t.equal(afterThree.miss - before.miss, 3, 'the first three askings decide: an answer is kept only once its question is asked often')
  t.equal(afterThree.hit - before.hit, 0)
  const again = [await authorize(token.token!, 'read_code', api), await authorize(token.token!, 'read_code', api)]
  const after = await memoCounts(ctx)
  t.equal(first.allowed, true)
  t.same([...decided, ...again], [first, first, first, first], 'the memo answers exactly what the decision answered')
  t.equal(after.miss - before.miss, 3, 'no more decisions')
  t.equal(after.hit - before.hit, 2, 'the repeats come from the memo')
  await ctx.app.usage.flush()
  const row = await ctx.app.db.selectFrom('token_usage_daily').select(['allowed']).where('token_id', '=', token.id).where('permission', '=', 'read_code').executeTakeFirstOrThrow()
  t.equal(Number(row.allowed), 5, 'memo answers are counted as uses')
  const hitsBefore = (await memoCounts(ctx)).hit
  for (let i = 0; i < 2; i++) await authorize(token.token!, 'read_code', api) // counted again after the flush
  t.equal((await memoCounts(ctx)).hit - hitsBefore, 2, 'a kept answer still answers after a flush')
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
  const before = await memoCounts(ctx)
  for (let i = 0; i < 4; i++) t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'the last day (kept from the third asking)')
  t.equal((await memoCounts(ctx)).hit - before.hit, 1, 'memoized')
  clock.set('2026-12-02T00:00:00.100Z') // within the memo's second, but the token expired at midnight
  for (let i = 0; i < 4; i++) t.equal((await authorize(token.token!, 'read_code', api)).reason, 'token_expired', 'expired at 00:00 UTC')
  t.equal((await memoCounts(ctx)).hit - before.hit, 2, 'memoized')
  clock.set('2026-12-01T23:59:59.900Z') // a clock set back must not get the later day's answer
  t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'the day before: allowed again')
  await ctx.app.usage.flush()
  const rows = await ctx.app.db.selectFrom('token_usage_daily').select(['day', 'allowed', 'denied']).where('token_id', '=', token.id).orderBy('day').execute()
  t.same(rows.map((r) => [String(r.day).slice(0, 10), Number(r.allowed), Number(r.denied)]), [['2026-12-01', 5, 0], ['2026-12-02', 0, 4]], 'usage counted on the day of each answer')
})

t.test('answers resting on something missing, or on a username, are not memoized', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  await new Promise((r) => setTimeout(r, 100))
  const before = await memoCounts(ctx)
  for (let i = 0; i < 4; i++) { // a fourth time: an answer that could be kept is kept from its third asking
    t.equal((await authorize(token.token!, 'read_code', { type: 'project', id: 999_999 })).reason, 'resource_not_found')
    t.equal((await authorize(`${token.token!.slice(0, 10)}${token.token![10] === 'x' ? 'y' : 'x'}${token.token!.slice(11)}`, 'read_code', api)).reason, 'malformed_token')
    t.equal((await authorize(token.token!, 'read_user', { type: 'user', path: 'alice' })).allowed, true)
  }
  const after = await memoCounts(ctx)
  t.equal(after.hit - before.hit, 0, 'never answered from the memo')
  // Kept at its first asking by id: the askings by username above counted the same use (read_user on Alice).
  t.equal((await authorize(token.token!, 'read_user', { type: 'user', id: ALICE })).allowed, true)
  t.equal((await authorize(token.token!, 'read_user', { type: 'user', id: ALICE })).allowed, true)
  t.equal((await memoCounts(ctx)).hit - after.hit, 1, 'the same user by id is')
})

t.test('the memo never answers a question it was not asked (its key is injective)', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'read_merge_request'] }] })
  await new Promise((r) => setTimeout(r, 100))
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const ask = (body: Record<string, unknown>) => ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token: token.token, resource: api, ...body } })
  const list = await ask({ permissions: ['read_code', 'read_merge_request'] })
  t.equal(list.json().allowed, true, 'two permissions, both granted')
  for (let i = 0; i < 2; i++) t.equal((await ask({ permissions: ['read_code', 'read_merge_request'] })).json().allowed, true, 'asked again: the answer is kept (third asking)')
  // Within the memo's second: under the old key this one name was the list above and answered 200 allowed.
  const oneName = await ask({ permission: 'read_code,read_merge_request' })
  t.equal(oneName.statusCode, 400, 'one unknown permission name is a bad request, not the memoized answer')
  t.equal(oneName.json().code, 'invalid_permission')
})

t.test('a change drops the answers resting on what changed, and only those', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const alices = await createToken(ctx, ALICE)
  const bobs = await createToken(ctx, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code'] }] })
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 (and so the memo) active
  const memoized = async (secret: string) => {
    for (let i = 0; i < 3; i++) t.equal((await authorize(secret, 'read_code', api)).allowed, true, 'allowed, and kept from the third asking')
  }
  await memoized(alices.token!)
  await memoized(bobs.token!)

  // Another user's token revoked: Alice's answer rests on neither that token nor its owner.
  let before = await memoCounts(ctx)
  const revoked = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${bobs.id}`, headers: await asUser(ctx, BOB) })
  t.equal(revoked.statusCode, 204)
  t.equal((await authorize(alices.token!, 'read_code', api)).allowed, true)
  t.equal((await memoCounts(ctx)).hit - before.hit, 1, 'another token\'s revocation leaves the answer in the memo')
  t.equal((await authorize(bobs.token!, 'read_code', api)).reason, 'token_revoked', 'the revoked token\'s own answer is gone at once')

  // Alice's own token edited: her answer rests on it.
  before = await memoCounts(ctx)
  const edited = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${alices.id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['push_code'] }] } })
  t.equal(edited.statusCode, 200, edited.body)
  t.equal((await authorize(alices.token!, 'read_code', api)).reason, 'permission_not_granted', 'her token changed: decided again')
  t.equal((await memoCounts(ctx)).hit - before.hit, 0)

  // Alice herself changed (her memberships): answers of every token she owns rest on her.
  const second = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['push_code'] }] })
  for (let i = 0; i < 3; i++) t.equal((await authorize(second.token!, 'push_code', api)).allowed, true, 'allowed as maintainer of acme/platform/api')
  before = await memoCounts(ctx)
  const directory = await directoryClient(ctx)
  for (const ns of [ACME, API_PROJECT]) { // developer on acme, maintainer on its api project: reporter on both
    const lowered = await directory.putMember(ns, ALICE, { access_level: 20 })
    t.equal(lowered.statusCode < 300, true, lowered.body)
  }
  t.equal((await authorize(second.token!, 'push_code', api)).reason, 'insufficient_role', 'her membership lowered: decided again')
  t.equal((await memoCounts(ctx)).hit - before.hit, 0)
})
