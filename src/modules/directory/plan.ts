// Pure rules for placing a namespace in the tree: which parents a kind may have, its full path and
// traversal ids, and the moves that would create a cycle or nest too deep.
import type { NamespaceKind, NamespaceRow } from '../../db/types.js'
import { AppError } from '../../http/errors.js'
import type { NamespaceValues } from './repository.js'
import type { NamespaceInput } from './schemas.js'

type Placed = Pick<NamespaceRow, 'id' | 'kind' | 'full_path' | 'traversal_ids'>

const ALLOWED_PARENTS: Record<NamespaceKind, NamespaceKind[]> = {
  group: ['group'],
  project: ['group', 'user'],
  user: [],
}

/**
 * GitLab allows 20 levels of subgroups under a top-level group, plus a project: 22 traversal ids.
 * The bound also keeps a subtree move from rewriting paths without end.
 */
export const MAX_DEPTH = 22
/**
 * A full path is indexed (unique, case-insensitive); PostgreSQL refuses btree entries over ~2.7 kB,
 * so a longer path must be a 400 that says so, not a database error.
 */
export const MAX_FULL_PATH = 2048

function fail(at: string, field: string, message: string): never {
  throw new AppError(400, 'invalid_namespace', `${at}.${field}: ${message}`, [{ path: `${at}.${field}`, message }])
}

export function planNamespace(
  id: number,
  input: NamespaceInput,
  existing: Placed | undefined,
  parent: Placed | undefined,
  ownerExists: boolean,
  at = 'body',
): NamespaceValues {
  if (existing && existing.kind !== input.kind) {
    fail(at, 'kind', `namespace ${id} is a ${existing.kind}; its kind cannot change`)
  }
  const parentId = input.parent_id ?? null
  if (input.kind === 'user') {
    if (parentId !== null) fail(at, 'parent_id', 'a user namespace has no parent')
    if (!input.owner_id) fail(at, 'owner_id', 'is required for kind user')
    if (!ownerExists) fail(at, 'owner_id', `user ${input.owner_id} does not exist`)
  } else if (input.owner_id) {
    fail(at, 'owner_id', 'is only for kind user')
  }
  if (input.kind === 'project' && parentId === null) fail(at, 'parent_id', 'a project needs a parent group or user namespace')
  if (parentId !== null) {
    if (parentId === id) fail(at, 'parent_id', 'a namespace cannot be its own parent')
    if (!parent) fail(at, 'parent_id', `namespace ${parentId} does not exist`)
    if (!ALLOWED_PARENTS[input.kind].includes(parent.kind)) {
      fail(at, 'parent_id', `a ${input.kind} cannot be placed under a ${parent.kind}`)
    }
    if (parent.traversal_ids.includes(id)) fail(at, 'parent_id', `moving ${id} under its own descendant ${parentId} would create a cycle`)
  }
  const values: NamespaceValues = {
    id,
    kind: input.kind,
    parent_id: parentId,
    path: input.path,
    full_path: parent ? `${parent.full_path}/${input.path}` : input.path,
    name: input.name ?? input.path,
    visibility: input.visibility ?? 'private',
    owner_id: input.kind === 'user' ? (input.owner_id ?? null) : null,
    traversal_ids: parent ? [...parent.traversal_ids, id] : [id],
  }
  checkLimits(values.traversal_ids.length, values.full_path.length, 'this namespace', at)
  return values
}

function checkLimits(depth: number, fullPathLength: number, who: string, at: string) {
  if (depth > MAX_DEPTH) fail(at, 'parent_id', `${who} would sit ${depth} levels deep; at most ${MAX_DEPTH} are allowed`)
  if (fullPathLength > MAX_FULL_PATH) {
    fail(at, 'path', `the full path of ${who} would be ${fullPathLength} characters long; at most ${MAX_FULL_PATH} are allowed`)
  }
}

/**
 * A move or rename carries the whole subtree along: its deepest descendant and its longest full
 * path (`subtree`, measured before the move, the namespace itself included) must still fit.
 */
export function checkSubtreeFits(
  before: Pick<NamespaceRow, 'full_path' | 'traversal_ids'>,
  after: Pick<NamespaceRow, 'full_path' | 'traversal_ids'>,
  subtree: { depth: number; fullPathLength: number },
  at = 'body',
): void {
  checkLimits(
    subtree.depth - before.traversal_ids.length + after.traversal_ids.length,
    subtree.fullPathLength - before.full_path.length + after.full_path.length,
    'a descendant',
    at,
  )
}

/**
 * Orders bulk namespaces so a parent given in the same payload comes before its children. Iterative
 * (a payload may hold one long chain) and linear in the payload size.
 */
export function parentsFirst<T extends { id: number; parent_id?: number | null }>(items: T[]): T[] {
  const indexById = new Map(items.map((n, i) => [n.id, i]))
  const state = new Uint8Array(items.length) // 0 unseen, 1 on the current chain, 2 placed
  const out: T[] = []
  for (let start = 0; start < items.length; start++) {
    // walk up to the first ancestor that is placed or outside the payload, then place downwards
    const chain: number[] = []
    for (let i: number | undefined = start; i !== undefined && state[i] !== 2; ) {
      if (state[i] === 1) {
        throw new AppError(400, 'invalid_namespace', `body.namespaces[${i}].parent_id: the payload's parents form a cycle`, [
          { path: `body.namespaces[${i}].parent_id`, message: 'parents form a cycle' },
        ])
      }
      state[i] = 1
      chain.push(i)
      const parentId: number | null | undefined = items[i].parent_id
      // a namespace naming itself as parent is left for planNamespace to refuse with its own message
      i = parentId != null && parentId !== items[i].id ? indexById.get(parentId) : undefined
    }
    for (let k = chain.length - 1; k >= 0; k--) {
      state[chain[k]] = 2
      out.push(items[chain[k]])
    }
  }
  return out
}
