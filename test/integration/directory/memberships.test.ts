// PUT|DELETE /directory/namespaces/:id/members/:user_id — idempotent membership changes, each
// bumping the member's users.version when (and only when) it changes what they may do.
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, BOB, CAROL, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { auditRows, directoryClient, errorPaths, ok, problem, tableCounts, userVersion } from './client.js'

const membership = (ctx: TestContext, userId: number, namespaceId: number) =>
  ctx.app.db.selectFrom('memberships').select(['user_id', 'namespace_id', 'access_level', 'expires_at'])
    .where('user_id', '=', userId).where('namespace_id', '=', namespaceId).executeTakeFirst()

t.test('adding and changing a membership, audited, bumping the user version', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const v0 = await userVersion(ctx, CAROL)
  const alice = await userVersion(ctx, ALICE)

  t.same(ok(await dir.putMember(ACME, CAROL, { access_level: 15 })), { user_id: CAROL, namespace_id: ACME, access_level: 15, expires_at: null })
  t.same(await membership(ctx, CAROL, ACME), { user_id: CAROL, namespace_id: ACME, access_level: 15, expires_at: null })
  t.equal(await userVersion(ctx, CAROL), v0 + 1, 'a new membership bumps')

  const changed = ok(await dir.putMember(ACME, CAROL, { access_level: 40, expires_at: '2031-02-28' }))
  t.same(changed, { user_id: CAROL, namespace_id: ACME, access_level: 40, expires_at: '2031-02-28' })
  t.equal(await userVersion(ctx, CAROL), v0 + 2, 'a new level bumps')
  ok(await dir.putMember(ACME, CAROL, { access_level: 40 }))
  t.equal((await membership(ctx, CAROL, ACME))?.expires_at, null, 'omitting expires_at clears it')
  t.equal(await userVersion(ctx, CAROL), v0 + 3, 'a new expiry bumps')

  const events = await auditRows(ctx, 'directory.membership_upserted')
  t.equal(events.length, 3)
  t.match(events[1], { actor_type: 'service', actor_id: 'idp', target_type: 'user', target_id: String(CAROL), namespace_id: ACME, details: { access_level: 40 } })
  t.equal(await userVersion(ctx, ALICE), alice, 'other users are untouched')
})

t.test('every access level is accepted', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  for (const level of [10, 15, 20, 30, 40, 50]) {
    t.match(ok(await dir.putMember(API_PROJECT, CAROL, { access_level: level })), { access_level: level })
    t.equal((await membership(ctx, CAROL, API_PROJECT))?.access_level, level)
  }
})

t.test('the same PUT twice leaves the same state, and the same version', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const input = { access_level: 30, expires_at: '2030-01-01' }
  const first = ok(await dir.putMember(ACME, CAROL, input))
  const version = await userVersion(ctx, CAROL)
  t.same(ok(await dir.putMember(ACME, CAROL, input)), first)
  t.same(await membership(ctx, CAROL, ACME), first)
  t.equal(await userVersion(ctx, CAROL), version, 'nothing changed, so cached access stays valid')
  const rows = await ctx.app.db.selectFrom('memberships').select('user_id').where('user_id', '=', CAROL).execute()
  t.equal(rows.length, 1, 'no duplicate row')
})

t.test('an unknown user or namespace is a 404 that writes nothing', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const before = await tableCounts(ctx)
  const user = problem(await dir.putMember(ACME, 999, { access_level: 30 }), 404)
  t.match(user, { code: 'not_found', detail: /User 999/ })
  const ns = problem(await dir.putMember(999, CAROL, { access_level: 30 }), 404)
  t.match(ns, { code: 'not_found', detail: /Namespace 999/ })
  t.same(await tableCounts(ctx), before)
})

t.test('every invalid field is named', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const before = await tableCounts(ctx)
  const cases: [string, number | string, number | string, Record<string, unknown>, string[]][] = [
    ['no access level', ACME, CAROL, {}, ['body.access_level']],
    ['an access level between levels', ACME, CAROL, { access_level: 25 }, ['body.access_level']],
    ['access level 0', ACME, CAROL, { access_level: 0 }, ['body.access_level']],
    ['access level 60', ACME, CAROL, { access_level: 60 }, ['body.access_level']],
    ['a role name', ACME, CAROL, { access_level: 'owner' }, ['body.access_level']],
    ['an expiry that is no date', ACME, CAROL, { access_level: 30, expires_at: 'soon' }, ['body.expires_at']],
    ['an impossible date', ACME, CAROL, { access_level: 30, expires_at: '2030-02-30' }, ['body.expires_at']],
    ['a timestamp for a date', ACME, CAROL, { access_level: 30, expires_at: '2030-01-01T00:00:00Z' }, ['body.expires_at']],
    ['an unknown field', ACME, CAROL, { access_level: 30, role: 'dev' }, ['body.role']],
    ['a bad namespace id', 'acme', CAROL, { access_level: 30 }, ['params.id']],
    ['a bad user id', ACME, 0, { access_level: 30 }, ['params.user_id']],
  ]
  for (const [label, nsId, userId, input, paths] of cases) {
    const body = problem(await dir.putMember(nsId, userId, input), 400)
    t.equal(body.code, 'validation_failed', label)
    t.same(errorPaths(body), paths, `${label} names ${paths.join(', ')}`)
  }
  for (const [label, nsId, userId, path] of [['a bad namespace id', '-1', CAROL, 'params.id'], ['a bad user id', ACME, 'bob', 'params.user_id']] as const) {
    const body = problem(await dir.deleteMember(nsId, userId), 400)
    t.same(errorPaths(body), [path], `DELETE with ${label} names ${path}`)
  }
  t.same(await tableCounts(ctx), before, 'nothing was written')
})

t.test('removing a membership: 204, audited, version bumped; again: 204 and nothing else', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const v0 = await userVersion(ctx, BOB)
  const first = await dir.deleteMember(PLATFORM, BOB) // bob is a reporter on acme/platform
  t.equal(first.statusCode, 204)
  t.equal(first.body, '')
  t.equal(await membership(ctx, BOB, PLATFORM), undefined)
  t.equal(await userVersion(ctx, BOB), v0 + 1)
  const [event] = await auditRows(ctx, 'directory.membership_removed')
  t.match(event, { target_id: String(BOB), namespace_id: PLATFORM, details: { access_level: 20 } })

  const before = await tableCounts(ctx)
  for (const [nsId, userId] of [[PLATFORM, BOB], [ACME, CAROL], [999, BOB], [ACME, 999]]) {
    t.equal((await dir.deleteMember(nsId, userId)).statusCode, 204, `DELETE ${nsId}/${userId} is idempotent`)
  }
  t.same(await tableCounts(ctx), before, 'removing nothing writes nothing, not even an audit row')
  t.equal(await userVersion(ctx, BOB), v0 + 1, 'and bumps nothing')
  t.match(await membership(ctx, BOB, OPENSOURCE), { access_level: 50 }, 'his other membership is untouched')
})
