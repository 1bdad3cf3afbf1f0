// PUT /directory/users/:id — idempotent create or update of a directory user.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { auditRows, directoryClient, errorPaths, ok, problem, userVersion } from './client.js'

const alice = { username: 'alice', name: 'Alice', email: 'alice@example.com' }

t.test('creates a user with defaults, audited', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const body = ok(await dir.putUser(7, alice))
  t.same(body, { id: 7, ...alice, state: 'active', is_admin: false, kind: 'human', service_account_group_id: null })
  const row = await ctx.app.db.selectFrom('users').selectAll().where('id', '=', 7).executeTakeFirstOrThrow()
  t.match(row, { id: 7, ...alice, state: 'active', is_admin: false, version: 1 })
  const events = await auditRows(ctx)
  t.equal(events.length, 1)
  t.match(events[0], { action: 'directory.user_upserted', actor_type: 'service', actor_id: 'idp', target_type: 'user', target_id: '7' })
  t.same(events[0].details, { state: 'active', is_admin: false })
  t.ok(events[0].request_id, 'the request id is recorded')
})

t.test('the same PUT twice leaves the same state and raises no error', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const input = { ...alice, state: 'blocked', is_admin: true }
  const first = ok(await dir.putUser(7, input))
  const rowBefore = await ctx.app.db.selectFrom('users').selectAll().where('id', '=', 7).executeTakeFirstOrThrow()
  const second = ok(await dir.putUser(7, input))
  t.same(second, first)
  const rowAfter = await ctx.app.db.selectFrom('users').selectAll().where('id', '=', 7).executeTakeFirstOrThrow()
  t.same({ ...rowAfter, updated_at: null }, { ...rowBefore, updated_at: null }, 'same row, same version')
  t.equal(await ctx.app.db.selectFrom('users').select('id').execute().then((r) => r.length), 1)
})

t.test('blocking a user bumps users.version; a name or email change does not', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  ok(await dir.putUser(7, alice))
  t.equal(await userVersion(ctx, 7), 1)

  const renamed = ok(await dir.putUser(7, { ...alice, name: 'Alice Liddell', email: 'al@example.com', username: 'Alice' }))
  t.match(renamed, { name: 'Alice Liddell', email: 'al@example.com', username: 'Alice' }, 'a username may change case')
  t.equal(await userVersion(ctx, 7), 1, 'name, email and username do not affect decisions')

  t.match(ok(await dir.putUser(7, { ...alice, state: 'blocked' })), { state: 'blocked' })
  t.equal(await userVersion(ctx, 7), 2, 'blocking bumps')
  ok(await dir.putUser(7, { ...alice, state: 'blocked', name: 'A.' }))
  t.equal(await userVersion(ctx, 7), 2, 'a name change while blocked does not')
  ok(await dir.putUser(7, { ...alice, state: 'deactivated' }))
  t.equal(await userVersion(ctx, 7), 3, 'blocked → deactivated bumps')
  ok(await dir.putUser(7, { ...alice, state: 'active' }))
  t.equal(await userVersion(ctx, 7), 4, 'reactivating bumps')
  ok(await dir.putUser(7, { ...alice, is_admin: true }))
  t.equal(await userVersion(ctx, 7), 5, 'granting admin bumps')
  ok(await dir.putUser(7, { ...alice, is_admin: false }))
  t.equal(await userVersion(ctx, 7), 6, 'revoking admin bumps')
  const events = await auditRows(ctx, 'directory.user_upserted')
  t.equal(events.length, 8, 'every PUT is audited')
  t.same(events.map((e) => (e.details as { state: string }).state), ['active', 'active', 'blocked', 'blocked', 'deactivated', 'active', 'active', 'active'])
})

t.test('a username used by another id is a 409, case-insensitively, and changes nothing', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  ok(await dir.putUser(7, alice))
  ok(await dir.putUser(8, { username: 'bob', name: 'Bob', email: 'bob@example.com' }))
  for (const username of ['alice', 'ALICE', 'Alice']) {
    const body = problem(await dir.putUser(8, { username, name: 'Bob', email: 'bob@example.com' }), 409)
    t.equal(body.code, 'conflict', `${username} clashes`)
    t.match(body.detail, /username/)
    t.equal(problem(await dir.putUser(9, { ...alice, username }), 409).code, 'conflict', `${username} clashes for a new id`)
  }
  const rows = await ctx.app.db.selectFrom('users').select(['id', 'username']).orderBy('id').execute()
  t.same(rows, [{ id: 7, username: 'alice' }, { id: 8, username: 'bob' }])
  t.equal((await auditRows(ctx)).length, 2, 'a refused PUT writes no audit row')
})

t.test('every invalid field is named', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an empty body', {}, ['body.email', 'body.name', 'body.username']],
    ['a missing email', { username: 'a', name: 'A' }, ['body.email']],
    ['a malformed email', { ...alice, email: 'not-an-email' }, ['body.email']],
    ['a username with a slash', { ...alice, username: 'a/b' }, ['body.username']],
    ['a username with a space', { ...alice, username: 'a b' }, ['body.username']],
    ['a username starting with a dot', { ...alice, username: '.alice' }, ['body.username']],
    ['an empty username', { ...alice, username: '' }, ['body.username']],
    ['an overlong name', { ...alice, name: 'x'.repeat(256) }, ['body.name']],
    ['an empty name', { ...alice, name: '' }, ['body.name']],
    ['an unknown state', { ...alice, state: 'banned' }, ['body.state']],
    ['a non-boolean is_admin', { ...alice, is_admin: 'yes' }, ['body.is_admin']],
    ['an unknown field', { ...alice, password: 'hunter2' }, ['body.password']],
    ['two bad fields at once', { ...alice, email: 'x', state: 'gone' }, ['body.email', 'body.state']],
  ]
  for (const [label, payload, paths] of cases) {
    const body = problem(await dir.putUser(7, payload), 400)
    t.equal(body.code, 'validation_failed', label)
    t.same(errorPaths(body), paths, `${label} names ${paths.join(', ')}`)
    t.ok(body.errors!.every((e) => e.message.length > 0), `${label} says what to fix`)
  }
  for (const id of ['0', '-1', 'abc', '1.5', String(2 ** 53)]) {
    const body = problem(await dir.putUser(id, alice), 400)
    t.equal(body.code, 'validation_failed', `id ${id}`)
    t.same(errorPaths(body), ['params.id'], `id ${id} names params.id`)
  }
  const bad = await ctx.app.inject({ method: 'PUT', url: '/api/v4/directory/users/7', headers: { ...dir.headers, 'content-type': 'application/json' }, payload: '{"username":' })
  t.equal(problem(bad, 400).status, 400, 'malformed JSON is a 400')
  t.equal((await ctx.app.db.selectFrom('users').select('id').execute()).length, 0, 'nothing was written')
  t.equal((await auditRows(ctx)).length, 0)
})
