// PUT /directory/namespaces/:id — create, update, rename and move groups, projects and user namespaces.
import { createHash } from 'node:crypto'
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { auditRows, type DirectoryClient, directoryClient, errorPaths, namespaceRows, ok, problem, treeInconsistencies } from './client.js'

// a/            (1000)            b/ (1001)
//   g/          (1010) ← moved    gg/ (1016, a path-prefix look-alike under a)
//     g1/       (1011)   p1 (1012, project)
//       g2/     (1013)   p2 (1014, project)
//         p3    (1015, project)
const tree: [number, Record<string, unknown>][] = [
  [1000, { kind: 'group', path: 'a' }],
  [1001, { kind: 'group', path: 'b' }],
  [1010, { kind: 'group', path: 'g', parent_id: 1000 }],
  [1011, { kind: 'group', path: 'g1', parent_id: 1010 }],
  [1012, { kind: 'project', path: 'p1', parent_id: 1010 }],
  [1013, { kind: 'group', path: 'g2', parent_id: 1011 }],
  [1014, { kind: 'project', path: 'p2', parent_id: 1011 }],
  [1015, { kind: 'project', path: 'p3', parent_id: 1013 }],
  [1016, { kind: 'group', path: 'gg', parent_id: 1000 }],
]

async function seedTree(ctx: TestContext): Promise<DirectoryClient> {
  const dir = await directoryClient(ctx)
  for (const [id, body] of tree) ok(await dir.putNamespace(id, body))
  return dir
}

const placement = async (ctx: TestContext) =>
  (await namespaceRows(ctx)).map((r) => ({ id: r.id, parent_id: r.parent_id, full_path: r.full_path, traversal_ids: r.traversal_ids }))

t.test('creates groups, projects and user namespaces with full paths and traversal ids', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  t.same(ok(await dir.putNamespace(1015, { kind: 'project', path: 'p3', parent_id: 1013 })), {
    id: 1015, kind: 'project', path: 'p3', full_path: 'a/g/g1/g2/p3', name: 'p3', parent_id: 1013, owner_id: null,
    visibility: 'private', traversal_ids: [1000, 1010, 1011, 1013, 1015],
  })
  ok(await dir.putUser(5, { username: 'dana', name: 'Dana', email: 'dana@example.com' }))
  const userNs = ok(await dir.putNamespace(50, { kind: 'user', path: 'dana', name: 'Dana', owner_id: 5, visibility: 'public' }))
  t.same(userNs, { id: 50, kind: 'user', path: 'dana', full_path: 'dana', name: 'Dana', parent_id: null, owner_id: 5, visibility: 'public', traversal_ids: [50] })
  t.match(ok(await dir.putNamespace(51, { kind: 'project', path: 'dotfiles', parent_id: 50 })), { full_path: 'dana/dotfiles', traversal_ids: [50, 51] })
  const created = await auditRows(ctx, 'directory.namespace_created')
  t.equal(created.length, tree.length + 2, 'each creation is audited')
  t.match(created.find((e) => e.target_id === '51'), { namespace_id: 51, target_type: 'namespace', details: { full_path: 'dana/dotfiles' } })
})

t.test('the same PUT twice leaves the same state', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  const input = { kind: 'group', path: 'g', name: 'The G', parent_id: 1000, visibility: 'internal' }
  const first = ok(await dir.putNamespace(1010, input))
  const before = await namespaceRows(ctx)
  t.same(ok(await dir.putNamespace(1010, input)), first)
  t.same(await namespaceRows(ctx), before, 'no row changed, no version bumped')
  t.match(ok(await dir.putNamespace(1010, { ...input, visibility: 'public' })), { visibility: 'public' })
  const bumped = (await namespaceRows(ctx, [1010]))[0].version
  t.equal(bumped, before.find((r) => r.id === 1010)!.version + 1, 'a real change bumps the version')
})

t.test('moving a group re-parents its whole subtree', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  const moved = ok(await dir.putNamespace(1010, { kind: 'group', path: 'g', parent_id: 1001 }))
  t.match(moved, { full_path: 'b/g', parent_id: 1001, traversal_ids: [1001, 1010] })
  t.same(await placement(ctx), [
    { id: 1000, parent_id: null, full_path: 'a', traversal_ids: [1000] },
    { id: 1001, parent_id: null, full_path: 'b', traversal_ids: [1001] },
    { id: 1010, parent_id: 1001, full_path: 'b/g', traversal_ids: [1001, 1010] },
    { id: 1011, parent_id: 1010, full_path: 'b/g/g1', traversal_ids: [1001, 1010, 1011] },
    { id: 1012, parent_id: 1010, full_path: 'b/g/p1', traversal_ids: [1001, 1010, 1012] },
    { id: 1013, parent_id: 1011, full_path: 'b/g/g1/g2', traversal_ids: [1001, 1010, 1011, 1013] },
    { id: 1014, parent_id: 1011, full_path: 'b/g/g1/p2', traversal_ids: [1001, 1010, 1011, 1014] },
    { id: 1015, parent_id: 1013, full_path: 'b/g/g1/g2/p3', traversal_ids: [1001, 1010, 1011, 1013, 1015] },
    { id: 1016, parent_id: 1000, full_path: 'a/gg', traversal_ids: [1000, 1016] },
  ])
  const [event] = await auditRows(ctx, 'directory.namespace_updated')
  t.match(event, { target_id: '1010', details: { full_path: 'b/g', previous_full_path: 'a/g', descendants_moved: 5 } })

  // deeper: under b/gg2 (a new group), then renamed, then back to the root
  ok(await dir.putNamespace(1002, { kind: 'group', path: 'gg2', parent_id: 1001 }))
  ok(await dir.putNamespace(1010, { kind: 'group', path: 'g', parent_id: 1002 }))
  ok(await dir.putNamespace(1010, { kind: 'group', path: 'renamed', parent_id: 1002 }))
  t.match(await placement(ctx).then((rows) => rows.find((r) => r.id === 1015)), {
    full_path: 'b/gg2/renamed/g1/g2/p3', traversal_ids: [1001, 1002, 1010, 1011, 1013, 1015],
  })
  ok(await dir.putNamespace(1010, { kind: 'group', path: 'top' }))
  const rows = await placement(ctx)
  t.same(rows.filter((r) => [1010, 1011, 1012, 1013, 1014, 1015].includes(r.id)).map((r) => [r.full_path, r.traversal_ids]), [
    ['top', [1010]],
    ['top/g1', [1010, 1011]],
    ['top/p1', [1010, 1012]],
    ['top/g1/g2', [1010, 1011, 1013]],
    ['top/g1/p2', [1010, 1011, 1014]],
    ['top/g1/g2/p3', [1010, 1011, 1013, 1015]],
  ])
  t.same(await treeInconsistencies(ctx), [], 'every row agrees with its parent')
})

t.test('renaming a user namespace moves its personal projects', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  ok(await dir.putUser(5, { username: 'dana', name: 'Dana', email: 'dana@example.com' }))
  ok(await dir.putNamespace(50, { kind: 'user', path: 'dana', owner_id: 5 }))
  ok(await dir.putNamespace(51, { kind: 'project', path: 'dotfiles', parent_id: 50 }))
  ok(await dir.putNamespace(50, { kind: 'user', path: 'dana-x', owner_id: 5 }))
  t.same((await namespaceRows(ctx, [51]))[0].full_path, 'dana-x/dotfiles')
})

t.test('a group cannot move under itself or its descendants', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  const before = await placement(ctx)
  for (const parent of [1010, 1011, 1013]) {
    const body = problem(await dir.putNamespace(1010, { kind: 'group', path: 'g', parent_id: parent }), 400)
    t.equal(body.code, 'invalid_namespace', `under ${parent}`)
    t.same(errorPaths(body), ['body.parent_id'])
  }
  const root = problem(await dir.putNamespace(1000, { kind: 'group', path: 'a', parent_id: 1013 }), 400)
  t.match(root, { code: 'invalid_namespace', detail: /cycle/ })
  t.same(await placement(ctx), before, 'nothing moved')
})

t.test('placement rules are enforced with the field to fix', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  ok(await dir.putUser(5, { username: 'dana', name: 'Dana', email: 'dana@example.com' }))
  ok(await dir.putNamespace(50, { kind: 'user', path: 'dana', owner_id: 5 }))
  const before = await placement(ctx)
  const cases: [string, number, Record<string, unknown>, string][] = [
    ['a project without a parent', 60, { kind: 'project', path: 'x' }, 'body.parent_id'],
    ['a project with a null parent', 60, { kind: 'project', path: 'x', parent_id: null }, 'body.parent_id'],
    ['a group under a project', 60, { kind: 'group', path: 'x', parent_id: 1012 }, 'body.parent_id'],
    ['a group under a user namespace', 60, { kind: 'group', path: 'x', parent_id: 50 }, 'body.parent_id'],
    ['a project under a project', 60, { kind: 'project', path: 'x', parent_id: 1012 }, 'body.parent_id'],
    ['an unknown parent', 60, { kind: 'group', path: 'x', parent_id: 999 }, 'body.parent_id'],
    ['its own parent', 60, { kind: 'group', path: 'x', parent_id: 60 }, 'body.parent_id'],
    ['a user namespace with a parent', 61, { kind: 'user', path: 'x', owner_id: 5, parent_id: 1000 }, 'body.parent_id'],
    ['a user namespace without an owner', 61, { kind: 'user', path: 'x' }, 'body.owner_id'],
    ['a user namespace with an unknown owner', 61, { kind: 'user', path: 'x', owner_id: 404 }, 'body.owner_id'],
    ['an owner on a group', 60, { kind: 'group', path: 'x', owner_id: 5 }, 'body.owner_id'],
    ['an owner on a project', 60, { kind: 'project', path: 'x', parent_id: 1000, owner_id: 5 }, 'body.owner_id'],
    ['a group turned project', 1016, { kind: 'project', path: 'gg', parent_id: 1000 }, 'body.kind'],
    ['a project turned group', 1012, { kind: 'group', path: 'p1', parent_id: 1010 }, 'body.kind'],
    ['a group turned user namespace', 1001, { kind: 'user', path: 'b', owner_id: 5 }, 'body.kind'],
  ]
  for (const [label, id, input, path] of cases) {
    const body = problem(await dir.putNamespace(id, input), 400)
    t.equal(body.code, 'invalid_namespace', label)
    t.same(errorPaths(body), [path], `${label} names ${path}`)
  }
  t.same(await placement(ctx), before, 'nothing was written')
})

t.test('schema violations are named', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an empty body', {}, ['body.kind', 'body.path']],
    ['an unknown kind', { kind: 'team', path: 'x' }, ['body.kind']],
    ['a path with a slash', { kind: 'group', path: 'a/b' }, ['body.path']],
    ['an empty path', { kind: 'group', path: '' }, ['body.path']],
    ['an unknown visibility', { kind: 'group', path: 'x', visibility: 'secret' }, ['body.visibility']],
    ['a negative parent id', { kind: 'group', path: 'x', parent_id: -1 }, ['body.parent_id']],
    ['an unknown field', { kind: 'group', path: 'x', full_path: 'a/x' }, ['body.full_path']],
    ['a traversal_ids field', { kind: 'group', path: 'x', traversal_ids: [1] }, ['body.traversal_ids']],
  ]
  for (const [label, input, paths] of cases) {
    const body = problem(await dir.putNamespace(70, input), 400)
    t.equal(body.code, 'validation_failed', label)
    t.same(errorPaths(body), paths, `${label} names ${paths.join(', ')}`)
  }
  t.same(errorPaths(problem(await dir.putNamespace('x', { kind: 'group', path: 'x' }), 400)), ['params.id'])
})

t.test('a full path clash is a 409, including one a move would cause deep in the subtree', async (t) => {
  const ctx = await build(t)
  const dir = await seedTree(ctx)
  ok(await dir.putUser(5, { username: 'dana', name: 'Dana', email: 'dana@example.com' }))
  ok(await dir.putNamespace(50, { kind: 'user', path: 'dana', owner_id: 5 }))
  const before = await placement(ctx)
  const clash = async (label: string, id: number, input: Record<string, unknown>) => {
    const body = problem(await dir.putNamespace(id, input), 409)
    t.equal(body.code, 'conflict', label)
  }
  await clash('a sibling path', 80, { kind: 'group', path: 'g', parent_id: 1000 })
  await clash('a sibling path in another case', 80, { kind: 'project', path: 'GG', parent_id: 1000 })
  await clash('a root path used by a user namespace', 80, { kind: 'group', path: 'dana' })
  await clash('a rename onto a sibling', 1016, { kind: 'group', path: 'g', parent_id: 1000 })
  await clash('a second user namespace for one owner', 51, { kind: 'user', path: 'dana2', owner_id: 5 })
  ok(await dir.putNamespace(1100, { kind: 'group', path: 'g', parent_id: 1001 }))
  const occupied = await placement(ctx)
  await clash('a move onto an existing path', 1010, { kind: 'group', path: 'g', parent_id: 1001 })
  await clash('a move onto an existing path in another case', 1010, { kind: 'group', path: 'G', parent_id: 1001 })
  t.same(await placement(ctx), occupied, 'the refused moves left the whole subtree where it was')
  t.same(occupied.filter((r) => r.id !== 1100), before, 'and no refused PUT wrote anything')
})

// A chain of groups 3000 → 3001 → … with the given paths; returns the last id.
async function chain(dir: DirectoryClient, first: number, paths: string[], parent?: number) {
  let id = first
  for (const [i, path] of paths.entries()) {
    id = first + i
    ok(await dir.putNamespace(id, { kind: 'group', path, parent_id: i === 0 ? (parent ?? null) : id - 1 }))
  }
  return id
}

t.test('nesting deeper than 22 levels is a 400, for a new namespace and for a moved subtree', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const deepest = await chain(dir, 3000, Array.from({ length: 22 }, (_, i) => `l${i + 1}`))
  t.equal((await namespaceRows(ctx, [deepest]))[0].traversal_ids.length, 22, '22 levels are allowed')
  const tooDeep = problem(await dir.putNamespace(3100, { kind: 'project', path: 'p', parent_id: deepest }), 400)
  t.match(tooDeep, { code: 'invalid_namespace', detail: /23 levels deep/ })
  t.same(errorPaths(tooDeep), ['body.parent_id'])

  // a 3-level subtree (4 ids) fits under level 18, not under level 19
  const sub = await chain(dir, 3200, ['s1', 's2', 's3', 's4'])
  ok(await dir.putNamespace(3200, { kind: 'group', path: 's1', parent_id: 3017 }))
  t.equal((await namespaceRows(ctx, [sub]))[0].traversal_ids.length, 22)
  const before = await placement(ctx)
  const moved = problem(await dir.putNamespace(3200, { kind: 'group', path: 's1', parent_id: 3018 }), 400)
  t.match(moved, { code: 'invalid_namespace', detail: /descendant would sit 23 levels deep/ })
  t.same(errorPaths(moved), ['body.parent_id'])
  t.same(await placement(ctx), before, 'the refused move changed nothing')
})

t.test('a full path longer than 2048 characters is a 400, not a database error', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  // hex does not compress, so without the check PostgreSQL refuses the index entry (a 500)
  const segment = (n: number) => createHash('sha256').update(String(n)).digest('hex').repeat(4).slice(0, 200)
  const last = await chain(dir, 4000, Array.from({ length: 10 }, (_, i) => segment(i))) // 10 × 200 + 9 slashes = 2009
  const long = problem(await dir.putNamespace(4100, { kind: 'project', path: segment(99), parent_id: last }), 400)
  t.match(long, { code: 'invalid_namespace', detail: /2210 characters/ })
  t.same(errorPaths(long), ['body.path'])
  const fits = ok<{ full_path: string }>(await dir.putNamespace(4100, { kind: 'project', path: 'x'.repeat(38), parent_id: last }))
  t.equal(fits.full_path.length, 2048, 'exactly 2048 fits')

  const before = await placement(ctx)
  const renamed = problem(await dir.putNamespace(4000, { kind: 'group', path: `${segment(0)}x` }), 400)
  t.same(errorPaths(renamed), ['body.path'], 'a rename that would push a descendant over the limit')
  t.same(await placement(ctx), before, 'the refused rename changed nothing')
})
