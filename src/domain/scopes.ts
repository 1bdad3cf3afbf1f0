// Granular scopes: which permissions a token holds and where. Pure rules shared by token creation,
// editing, previews and (later) the decision.
import type { ScopeAccess } from '../db/types.js'
import { type Boundary, expandPermissions, getPermission, PERMISSIONS } from './permissions/index.js'
import { closestName } from './suggest.js'

export const SCOPE_ACCESSES: readonly ScopeAccess[] = ['selected_memberships', 'personal_projects', 'all_memberships', 'user', 'instance']

/** The boundaries at which a scope of each access kind grants permissions. */
export const ACCESS_BOUNDARIES: Record<ScopeAccess, Boundary[]> = {
  selected_memberships: ['group', 'project'],
  personal_projects: ['project'],
  all_memberships: ['group', 'project'],
  user: ['user'],
  instance: ['instance'],
}

/** A scope as the API accepts it. */
export interface GranularScopeInput {
  access: ScopeAccess
  permissions: string[]
  group_ids?: number[]
  project_ids?: number[]
}

/** A scope as stored: one namespace (selected_memberships only) and its permissions. */
export interface StoredScope {
  access: ScopeAccess
  namespace_id: number | null
  permissions: string[]
}

export interface ScopeProblem {
  path: string
  message: string
  code: string
}

/** Checks what can be checked without the database: known permissions, boundaries, id presence. */
export function checkScopeShapes(scopes: GranularScopeInput[], at = 'body.granular_scopes'): ScopeProblem[] {
  const problems: ScopeProblem[] = []
  if (scopes.length === 0) problems.push({ path: at, message: 'must contain at least one scope', code: 'empty_scopes' })
  scopes.forEach((scope, i) => {
    const here = `${at}[${i}]`
    const allowed = ACCESS_BOUNDARIES[scope.access]
    if (scope.permissions.length === 0) {
      problems.push({ path: `${here}.permissions`, message: 'must name at least one permission', code: 'empty_scopes' })
    }
    scope.permissions.forEach((name, j) => {
      const permission = getPermission(name)
      if (!permission) {
        const hint = closestName(name, PERMISSIONS.map((p) => p.name))
        const message = `unknown permission "${name}"${hint ? `; did you mean "${hint}"?` : ''} (see GET /api/v4/permissions)`
        problems.push({ path: `${here}.permissions[${j}]`, message, code: 'unknown_permission' })
      } else if (!permission.boundaries.some((b) => allowed.includes(b))) {
        problems.push({
          path: `${here}.permissions[${j}]`,
          message: `"${name}" cannot be granted with access ${scope.access} (it applies to: ${permission.boundaries.join(', ')})`,
          code: 'permission_not_grantable',
        })
      } else if (scope.access === 'selected_memberships') {
        if (!permission.boundaries.includes('project') && (scope.project_ids?.length ?? 0) > 0) {
          problems.push({ path: `${here}.permissions[${j}]`, message: `"${name}" applies to groups only, but this scope also selects projects`, code: 'permission_not_grantable' })
        }
      }
    })
    const ids = (scope.group_ids?.length ?? 0) + (scope.project_ids?.length ?? 0)
    if (scope.access === 'selected_memberships' && ids === 0) {
      problems.push({ path: here, message: 'selected_memberships needs group_ids or project_ids', code: 'missing_resources' })
    }
    if (scope.access !== 'selected_memberships' && ids > 0) {
      problems.push({ path: here, message: `group_ids and project_ids are only for selected_memberships, not ${scope.access}`, code: 'unexpected_resources' })
    }
  })
  return problems
}

/** Canonical stored form: one row per (access, namespace), permissions merged and sorted. */
export function normalizeScopes(scopes: GranularScopeInput[]): StoredScope[] {
  const merged = new Map<string, StoredScope>()
  const add = (access: ScopeAccess, namespaceId: number | null, permissions: string[]) => {
    const key = `${access}:${namespaceId ?? ''}`
    const current = merged.get(key)
    const union = new Set([...(current?.permissions ?? []), ...permissions])
    merged.set(key, { access, namespace_id: namespaceId, permissions: [...union].sort() })
  }
  for (const s of scopes) {
    if (s.access === 'selected_memberships') {
      for (const id of [...(s.group_ids ?? []), ...(s.project_ids ?? [])]) add(s.access, id, s.permissions)
    } else {
      add(s.access, null, s.permissions)
    }
  }
  return [...merged.values()]
}

/** Groups stored rows back into the API shape; namespaces with equal permission sets share an entry. */
export function presentScopes(rows: StoredScope[], kindOf: (namespaceId: number) => 'group' | 'project' | 'user' | undefined): GranularScopeInput[] {
  const out = new Map<string, GranularScopeInput>()
  for (const row of rows) {
    const key = `${row.access}:${row.permissions.join(',')}`
    let entry = out.get(key)
    if (!entry) {
      entry = { access: row.access, permissions: row.permissions }
      out.set(key, entry)
    }
    if (row.namespace_id !== null) {
      const list = kindOf(row.namespace_id) === 'project' ? (entry.project_ids ??= []) : (entry.group_ids ??= [])
      list.push(row.namespace_id)
    }
  }
  return [...out.values()]
}

/** Every permission the scopes hold, after bundle expansion. */
export function grantedPermissions(scopes: StoredScope[]): Set<string> {
  return expandPermissions(scopes.flatMap((s) => s.permissions))
}

/** Whether a caller's scope reaches everything a new scope reaches (permissions aside). */
export function scopeReachCovers(caller: StoredScope, wanted: StoredScope, traversalOf: (namespaceId: number) => number[]): boolean {
  if (caller.access === wanted.access) {
    if (wanted.access !== 'selected_memberships') return true
    return wanted.namespace_id !== null && caller.namespace_id !== null && traversalOf(wanted.namespace_id).includes(caller.namespace_id)
  }
  return caller.access === 'all_memberships' && (wanted.access === 'selected_memberships' || wanted.access === 'personal_projects')
}

/**
 * A token may only mint tokens no broader than itself. Returns, per new scope, the permissions the
 * caller's own scopes do not cover there (empty when the new set is within the caller's).
 */
export function permissionsBeyond(
  callerScopes: StoredScope[],
  wanted: StoredScope[],
  traversalOf: (namespaceId: number) => number[],
): { scope: StoredScope; permissions: string[] }[] {
  const out: { scope: StoredScope; permissions: string[] }[] = []
  for (const scope of wanted) {
    const covering = callerScopes.filter((c) => scopeReachCovers(c, scope, traversalOf))
    const held = expandPermissions(covering.flatMap((c) => c.permissions))
    const missing = [...expandPermissions(scope.permissions)].filter((p) => !held.has(p))
    if (missing.length > 0) out.push({ scope, permissions: missing })
  }
  return out
}
