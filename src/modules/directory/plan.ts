// Pure rules for placing a namespace in the tree: which parents a kind may have, its full path and
// traversal ids, and the moves that would create a cycle.
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
  return {
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
}

/** Orders bulk namespaces so a parent given in the same payload comes before its children. */
export function parentsFirst<T extends { id: number; parent_id?: number | null }>(items: T[]): T[] {
  const byId = new Map(items.map((n) => [n.id, n]))
  const out: T[] = []
  const state = new Map<number, 'visiting' | 'done'>()
  const visit = (n: T, index: number) => {
    const s = state.get(n.id)
    if (s === 'done') return
    if (s === 'visiting') {
      throw new AppError(400, 'invalid_namespace', `body.namespaces[${index}].parent_id: the payload's parents form a cycle`, [
        { path: `body.namespaces[${index}].parent_id`, message: 'parents form a cycle' },
      ])
    }
    state.set(n.id, 'visiting')
    const parent = n.parent_id != null ? byId.get(n.parent_id) : undefined
    if (parent && parent !== n) visit(parent, items.indexOf(parent))
    state.set(n.id, 'done')
    out.push(n)
  }
  items.forEach((n, i) => visit(n, i))
  return out
}
