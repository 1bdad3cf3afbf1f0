// POST /directory/bulk — users, namespaces and memberships in one transaction: all or nothing.
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ALICE, BOB, CAROL, fixtureDirectory, INFRA, PLATFORM, seedDirectory, TERRAFORM } from '../../helpers/fixtures.js'
import { auditRows, directoryClient, errorPaths, namespaceRows, ok, problem, tableCounts, treeInconsistencies } from './client.js'

const placement = async (ctx: TestContext) =>
  (await namespaceRows(ctx)).map((r) => ({ id: r.id, parent_id: r.parent_id, full_path: r.full_path, traversal_ids: r.traversal_ids }))

const snapshot = async (ctx: TestContext) => ({
  users: await ctx.app.db.selectFrom('users').select(['id', 'username', 'state', 'is_admin', 'version']).orderBy('id').execute(),
  namespaces: await namespaceRows(ctx),
  memberships: await ctx.app.db.selectFrom('memberships').select(['user_id', 'namespace_id', 'access_level', 'expires_at']).orderBy(['user_id', 'namespace_id']).execute(),
})

// AJV names array items `body.users.1.email`, the service `body.users[1].email`: compare either way.
const bracketed = (paths: string[]) => paths.map((p) => p.replace(/\.(\d+)(?=\.|$)/g, '[$1]'))

t.test('bulk load places namespaces with full paths and traversal ids', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const rows = await ctx.app.db.selectFrom('namespaces').select(['id', 'full_path', 'traversal_ids']).orderBy('id').execute()
  t.equal(rows.length, fixtureDirectory.namespaces.length)
  t.same(rows.find((r) => r.id === 105), { id: 105, full_path: 'acme/platform/infra/terraform', traversal_ids: [100, 101, 104, 105] })
  t.same(await treeInconsistencies(ctx), [])
  const members = await ctx.app.db.selectFrom('memberships').selectAll().execute()
  t.equal(members.length, fixtureDirectory.memberships.length)
  const events = await auditRows(ctx)
  t.equal(events.length, 1, 'one audit row for the whole load')
  t.match(events[0], { action: 'directory.bulk_loaded', actor_type: 'service', actor_id: 'idp', details: { users: 4, namespaces: 11, memberships: 5 } })
})

t.test('children may come before their parents', async (t) => {
  const forward = await build(t)
  await seedDirectory(forward)
  const reversed = await build(t)
  const dir = await directoryClient(reversed)
  const body = ok(await dir.bulk({ ...fixtureDirectory, namespaces: [...fixtureDirectory.namespaces].reverse() }))
  t.same(body, { users: 4, namespaces: 11, memberships: 5 })
  t.same(await placement(reversed), await placement(forward))
})

t.test('the same bulk twice leaves the same state and bumps no version', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const before = await snapshot(ctx)
  await seedDirectory(ctx)
  t.same(await snapshot(ctx), before)
  t.equal((await auditRows(ctx, 'directory.bulk_loaded')).length, 2)
})

t.test('a bulk can move existing namespaces; descendants follow, new children land in the right place', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  ok(await dir.bulk({
    namespaces: [
      { id: PLATFORM, kind: 'group', path: 'platform' }, // to the root
      { id: 900, kind: 'project', path: 'modules', parent_id: INFRA }, // under a group the move just carried along
      { id: 901, kind: 'group', path: 'new-home', parent_id: ACME },
      { id: TERRAFORM, kind: 'project', path: 'terraform', parent_id: 901 },
    ],
    memberships: [{ user_id: CAROL, namespace_id: 900, access_level: 30 }],
  }))
  const rows = await placement(ctx)
  const at = (id: number) => rows.find((r) => r.id === id)
  t.match(at(INFRA), { full_path: 'platform/infra', traversal_ids: [PLATFORM, INFRA] })
  t.match(at(900), { full_path: 'platform/infra/modules', traversal_ids: [PLATFORM, INFRA, 900] })
  t.match(at(TERRAFORM), { full_path: 'acme/new-home/terraform', traversal_ids: [ACME, 901, TERRAFORM] })
  t.same(await treeInconsistencies(ctx), [])
})

t.test('duplicates in the payload are a 400 naming the second one', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const user = (id: number, username = `u${id}`) => ({ id, username, name: username, email: `${username}@example.com` })
  const cases: [string, Record<string, unknown>, string][] = [
    ['a user id', { users: [user(1), user(2), user(1, 'other')] }, 'body.users[2]'],
    ['a username', { users: [user(1, 'sam'), user(2, 'Sam')] }, 'body.users[1].username'],
    ['a namespace id', { namespaces: [{ id: 5, kind: 'group', path: 'a' }, { id: 5, kind: 'group', path: 'b' }] }, 'body.namespaces[1]'],
    ['a membership', {
      users: [user(1)], namespaces: [{ id: 5, kind: 'group', path: 'a' }],
      memberships: [{ user_id: 1, namespace_id: 5, access_level: 10 }, { user_id: 1, namespace_id: 5, access_level: 50 }],
    }, 'body.memberships[1]'],
  ]
  for (const [label, payload, path] of cases) {
    const body = problem(await dir.bulk(payload), 400)
    t.equal(body.code, 'duplicate_in_payload', label)
    t.same(errorPaths(body), [path], `${label} names ${path}`)
  }
  t.same(await tableCounts(ctx), { users: 0, namespaces: 0, memberships: 0, audit_events: 0 })
})

t.test('unknown references and misplaced namespaces are a 400 naming the row', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const before = await snapshot(ctx)
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['a member who is no user', { memberships: [{ user_id: ALICE, namespace_id: ACME, access_level: 10 }, { user_id: 999, namespace_id: ACME, access_level: 10 }] }, 'body.memberships[1].user_id', 'invalid_membership'],
    ['a membership in no namespace', { memberships: [{ user_id: ALICE, namespace_id: 999, access_level: 10 }] }, 'body.memberships[0].namespace_id', 'invalid_membership'],
    ['a parent that exists nowhere', { namespaces: [{ id: 900, kind: 'group', path: 'x' }, { id: 901, kind: 'project', path: 'y', parent_id: 999 }] }, 'body.namespaces[1].parent_id', 'invalid_namespace'],
    ['an owner that exists nowhere', { namespaces: [{ id: 900, kind: 'user', path: 'x', owner_id: 999 }] }, 'body.namespaces[0].owner_id', 'invalid_namespace'],
    ['a cycle inside the payload', { namespaces: [{ id: 900, kind: 'group', path: 'x', parent_id: 901 }, { id: 901, kind: 'group', path: 'y', parent_id: 900 }] }, 'body.namespaces[0].parent_id', 'invalid_namespace'],
    ['its own parent', { namespaces: [{ id: 900, kind: 'group', path: 'x', parent_id: 900 }] }, 'body.namespaces[0].parent_id', 'invalid_namespace'],
    ['a cycle through the database', { namespaces: [{ id: ACME, kind: 'group', path: 'acme', parent_id: INFRA }] }, 'body.namespaces[0].parent_id', 'invalid_namespace'],
    ['a group under a project', { namespaces: [{ id: 900, kind: 'group', path: 'x', parent_id: TERRAFORM }] }, 'body.namespaces[0].parent_id', 'invalid_namespace'],
    ['a kind change', { namespaces: [{ id: TERRAFORM, kind: 'group', path: 'terraform', parent_id: INFRA }] }, 'body.namespaces[0].kind', 'invalid_namespace'],
  ]
  for (const [label, payload, path, code] of cases) {
    const body = problem(await dir.bulk(payload), 400)
    t.equal(body.code, code, label)
    t.same(errorPaths(body), [path], `${label} names ${path}`)
  }
  t.same(await snapshot(ctx), before, 'nothing was written')
})

t.test('schema violations inside the arrays are named by index', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['a bad email', { users: [{ id: 1, username: 'a', name: 'A', email: 'a@example.com' }, { id: 2, username: 'b', name: 'B', email: 'nope' }] }, ['body.users[1].email']],
    ['a user without an id', { users: [{ username: 'a', name: 'A', email: 'a@example.com' }] }, ['body.users[0].id']],
    ['a bad kind', { namespaces: [{ id: 1, kind: 'team', path: 'a' }] }, ['body.namespaces[0].kind']],
    ['a bad access level', { memberships: [{ user_id: 1, namespace_id: 1, access_level: 35 }] }, ['body.memberships[0].access_level']],
    ['an unknown section', { groups: [] }, ['body.groups']],
    ['a section that is no array', { users: { id: 1 } }, ['body.users']],
  ]
  for (const [label, payload, paths] of cases) {
    const body = problem(await dir.bulk(payload), 400)
    t.equal(body.code, 'validation_failed', label)
    t.same(bracketed(errorPaths(body)), paths, `${label} names ${paths.join(', ')}`)
  }
  t.same(ok(await dir.bulk({})), { users: 0, namespaces: 0, memberships: 0 }, 'an empty load is fine')
})

t.test('all or nothing: an invalid row at the very end leaves nothing written', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const users = Array.from({ length: 1500 }, (_, i) => ({ id: i + 1, username: `user${i + 1}`, name: `User ${i + 1}`, email: `u${i + 1}@example.com` }))
  const namespaces = [
    { id: 10_000, kind: 'group', path: 'root' },
    ...Array.from({ length: 1500 }, (_, i) => ({ id: 10_001 + i, kind: 'project', path: `p${i}`, parent_id: 10_000 })),
  ]
  const memberships = users.map((u, i) => ({ user_id: u.id, namespace_id: 10_001 + i, access_level: 30 }))
  const late: [string, Record<string, unknown>, number, string][] = [
    ['an unknown member', { users, namespaces, memberships: [...memberships, { user_id: 99_999, namespace_id: 10_000, access_level: 10 }] }, 400, 'body.memberships[1500].user_id'],
    ['a misplaced namespace', { users, namespaces: [...namespaces, { id: 20_000, kind: 'group', path: 'g', parent_id: 10_001 }], memberships }, 400, 'body.namespaces[1501].parent_id'],
  ]
  for (const [label, payload, status, path] of late) {
    const body = problem(await dir.bulk(payload), status)
    t.same(errorPaths(body), [path], label)
    t.same(await tableCounts(ctx), { users: 0, namespaces: 0, memberships: 0, audit_events: 0 }, `${label}: nothing written`)
  }
  // a clash the database finds (a path taken twice among siblings) rolls back just as well
  const clash = problem(await dir.bulk({ users, namespaces: [...namespaces, { id: 20_000, kind: 'group', path: 'ROOT' }], memberships }), 409)
  t.equal(clash.code, 'conflict')
  t.same(await tableCounts(ctx), { users: 0, namespaces: 0, memberships: 0, audit_events: 0 }, 'a conflict writes nothing')

  // and a refused bulk over existing data leaves that data as it was, moves included
  await seedDirectory(ctx)
  const before = await snapshot(ctx)
  const refused = await dir.bulk({
    users: [{ id: CAROL, username: 'carol', name: 'Carol', email: 'carol@example.com', state: 'blocked' }],
    namespaces: [{ id: PLATFORM, kind: 'group', path: 'platform' }],
    memberships: [{ user_id: BOB, namespace_id: ACME, access_level: 50 }, { user_id: CAROL, namespace_id: 999, access_level: 10 }],
  })
  t.equal(refused.statusCode, 400)
  t.same(await snapshot(ctx), before, 'no user blocked, no group moved, no membership added')
})

t.test('memberships bump the version of the users whose access changed, only', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const versions = async () => Object.fromEntries((await snapshot(ctx)).users.map((u) => [u.id, u.version]))
  const before = await versions()
  ok(await dir.bulk({
    memberships: [
      { user_id: ALICE, namespace_id: ACME, access_level: 30 }, // unchanged
      { user_id: BOB, namespace_id: PLATFORM, access_level: 40 }, // promoted
      { user_id: CAROL, namespace_id: INFRA, access_level: 10 }, // new
    ],
  }))
  t.same(await versions(), { ...before, [BOB]: before[BOB] + 1, [CAROL]: before[CAROL] + 1 })
})
