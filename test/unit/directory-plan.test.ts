import t from 'tap'
import { AppError } from '../../src/http/errors.js'
import { checkSubtreeFits, MAX_DEPTH, MAX_FULL_PATH, parentsFirst, planNamespace } from '../../src/modules/directory/plan.js'

type Item = { id: number; parent_id?: number | null }

/** Whether every item comes after its parent when that parent is in the list too. */
function parentsBeforeChildren(items: Item[]): boolean {
  const position = new Map(items.map((n, i) => [n.id, i]))
  return items.every((n, i) => n.parent_id == null || !position.has(n.parent_id) || position.get(n.parent_id)! < i)
}

function thrown(fn: () => unknown): AppError {
  try {
    fn()
  } catch (err) {
    if (err instanceof AppError) return err
    throw err
  }
  throw new Error('expected an AppError')
}

t.test('parentsFirst keeps an ordered payload as it is and reorders a reversed one', async (t) => {
  const items: Item[] = [{ id: 1 }, { id: 2, parent_id: 1 }, { id: 3, parent_id: 2 }, { id: 4, parent_id: 1 }, { id: 5, parent_id: 99 }]
  t.same(parentsFirst(items), items)
  const reordered = parentsFirst([...items].reverse())
  t.ok(parentsBeforeChildren(reordered))
  t.same(reordered.map((n) => n.id).sort(), [1, 2, 3, 4, 5], 'every item exactly once')
  t.same(parentsFirst([]), [])
})

t.test('parentsFirst handles a 50,000-long chain sent children-first without recursion', async (t) => {
  const chain: Item[] = Array.from({ length: 50_000 }, (_, i) => ({ id: i + 1, parent_id: i === 0 ? null : i }))
  const started = performance.now()
  const ordered = parentsFirst([...chain].reverse())
  t.ok(performance.now() - started < 1000, 'linear, not quadratic')
  t.same(ordered.map((n) => n.id), chain.map((n) => n.id))
})

t.test('parentsFirst names the row where a payload cycle closes', async (t) => {
  const err = thrown(() => parentsFirst([{ id: 7 }, { id: 1, parent_id: 3 }, { id: 2, parent_id: 1 }, { id: 3, parent_id: 2 }]))
  t.match(err, { status: 400, code: 'invalid_namespace', errors: [{ path: 'body.namespaces[1].parent_id' }] })
  t.same(parentsFirst([{ id: 1, parent_id: 1 }]), [{ id: 1, parent_id: 1 }], 'its own parent is left for planNamespace to refuse')
})

const group = (id: number, parent?: { id: number; full_path: string; traversal_ids: number[] }) =>
  planNamespace(id, { kind: 'group', path: `g${id}`, parent_id: parent?.id }, undefined, parent && { ...parent, kind: 'group' }, false)

t.test('planNamespace derives the full path and traversal ids from the parent', async (t) => {
  const root = group(1)
  t.match(root, { full_path: 'g1', traversal_ids: [1], parent_id: null, name: 'g1', visibility: 'private', owner_id: null })
  t.match(group(2, root), { full_path: 'g1/g2', traversal_ids: [1, 2], parent_id: 1 })
  const err = thrown(() => planNamespace(1, { kind: 'group', path: 'g1', parent_id: 3 }, { ...root, kind: 'group' }, { id: 3, kind: 'group', full_path: 'g1/g2/g3', traversal_ids: [1, 2, 3] }, false))
  t.match(err, { code: 'invalid_namespace', errors: [{ path: 'body.parent_id', message: /cycle/ }] })
})

t.test('planNamespace bounds depth and full path length', async (t) => {
  let parent = group(1)
  for (let id = 2; id <= MAX_DEPTH; id++) parent = group(id, parent)
  t.equal(parent.traversal_ids.length, MAX_DEPTH)
  t.match(thrown(() => group(MAX_DEPTH + 1, parent)), { errors: [{ path: 'body.parent_id' }] })

  const long = { id: 1, full_path: 'x'.repeat(MAX_FULL_PATH - 3), traversal_ids: [1] }
  t.match(group(2, long), { full_path: `${long.full_path}/g2` }, 'exactly at the limit')
  t.match(thrown(() => group(20, long)), { errors: [{ path: 'body.path' }] })
})

t.test('checkSubtreeFits measures the deepest and longest descendant after the move', async (t) => {
  const before = { full_path: 'a/b', traversal_ids: [1, 2] }
  const subtree = { depth: 10, fullPathLength: 100 }
  t.doesNotThrow(() => checkSubtreeFits(before, { full_path: 'b', traversal_ids: [2] }, subtree))
  const deeper = { full_path: 'a/b', traversal_ids: Array.from({ length: MAX_DEPTH - 8 }, (_, i) => i + 10) }
  t.doesNotThrow(() => checkSubtreeFits(before, deeper, subtree), `${MAX_DEPTH} levels fit`)
  t.match(thrown(() => checkSubtreeFits(before, { ...deeper, traversal_ids: [...deeper.traversal_ids, 99] }, subtree, 'body.namespaces[3]')), {
    errors: [{ path: 'body.namespaces[3].parent_id' }],
  })
  const longer = { full_path: 'a/'.padEnd(MAX_FULL_PATH - 97, 'b'), traversal_ids: [1, 2] }
  t.doesNotThrow(() => checkSubtreeFits(before, longer, subtree))
  t.match(thrown(() => checkSubtreeFits(before, { ...longer, full_path: `${longer.full_path}c` }, subtree)), { errors: [{ path: 'body.path' }] })
})
