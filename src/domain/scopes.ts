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

/** A scope in GitLab's request shape: lists of ids (selected_memberships only). Templates keep this shape. */
export interface GranularScopeInput {
  access: ScopeAccess
  permissions: string[]
  group_ids?: number[]
  project_ids?: number[]
}

/**
 * A scope as requests may give it: GitLab's request shape, or GitLab's response shape (one target in
 * group_id or project_id, null when unused) so that a client can send back what it read.
 */
export interface GranularScopeRequest extends GranularScopeInput {
  group_id?: number | null
  project_id?: number | null
}

/** A scope as the API returns it (GitLab 19.x): one entry per target, the unused id null. */
export interface GranularScopeEntry {
  access: ScopeAccess
  permissions: string[]
  project_id: number | null
  group_id: number | null
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

/** One group or project a scope names, with the field (relative to the scope) that named it. */
export interface ScopeTarget {
  id: number
  kind: 'group' | 'project'
  field: string
}

/** Every target of a scope, whichever shape named it (null ids name nothing). */
export function scopeTargets(scope: GranularScopeRequest): ScopeTarget[] {
  const out: ScopeTarget[] = []
  scope.group_ids?.forEach((id, j) => out.push({ id, kind: 'group', field: `group_ids[${j}]` }))
  scope.project_ids?.forEach((id, j) => out.push({ id, kind: 'project', field: `project_ids[${j}]` }))
  if (scope.group_id != null) out.push({ id: scope.group_id, kind: 'group', field: 'group_id' })
  if (scope.project_id != null) out.push({ id: scope.project_id, kind: 'project', field: 'project_id' })
  return out
}

/** The request shape (lists), whichever shape the scope came in: what templates store and show. */
export function toListShape(scope: GranularScopeRequest): GranularScopeInput {
  const targets = scopeTargets(scope)
  const groups = targets.filter((t) => t.kind === 'group').map((t) => t.id)
  const projects = targets.filter((t) => t.kind === 'project').map((t) => t.id)
  return {
    access: scope.access,
    permissions: scope.permissions,
    ...(groups.length > 0 ? { group_ids: groups } : {}),
    ...(projects.length > 0 ? { project_ids: projects } : {}),
  }
}

/** The two shapes do not mix within one entry, and a per-target entry names at most one target. */
function shapeProblems(scope: GranularScopeRequest, here: string): ScopeProblem[] {
  const single = scope.group_id != null || scope.project_id != null
  const lists = scope.group_ids !== undefined || scope.project_ids !== undefined
  if (single && lists) {
    return [{
      path: here,
      message: 'give either group_id/project_id (one target, the shape GitLab returns) or group_ids/project_ids (lists, the shape GitLab takes), not both',
      code: 'conflicting_resources',
    }]
  }
  if (scope.group_id != null && scope.project_id != null) {
    return [{ path: here, message: 'an entry with group_id and project_id names one target: set one, leave the other null (or use group_ids/project_ids)', code: 'conflicting_resources' }]
  }
  return []
}

/** Checks what can be checked without the database: known permissions, boundaries, id presence. */
export function checkScopeShapes(scopes: GranularScopeRequest[], at = 'body.granular_scopes'): ScopeProblem[] {
  const problems: ScopeProblem[] = []
  if (scopes.length === 0) problems.push({ path: at, message: 'must contain at least one scope', code: 'empty_scopes' })
  scopes.forEach((scope, i) => {
    const here = `${at}[${i}]`
    const allowed = ACCESS_BOUNDARIES[scope.access]
    const targets = scopeTargets(scope)
    problems.push(...shapeProblems(scope, here))
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
        if (!permission.boundaries.includes('project') && targets.some((t) => t.kind === 'project')) {
          problems.push({ path: `${here}.permissions[${j}]`, message: `"${name}" applies to groups only, but this scope also selects projects`, code: 'permission_not_grantable' })
        }
      }
    })
    if (scope.access === 'selected_memberships' && targets.length === 0) {
      problems.push({ path: here, message: 'selected_memberships needs group_ids or project_ids (or group_id / project_id)', code: 'missing_resources' })
    }
    if (scope.access !== 'selected_memberships' && targets.length > 0) {
      problems.push({ path: here, message: `groups and projects (group_ids, project_ids, group_id, project_id) are only for selected_memberships, not ${scope.access}`, code: 'unexpected_resources' })
    }
  })
  return problems
}

/** Canonical stored form: one row per (access, namespace), permissions merged and sorted. */
export function normalizeScopes(scopes: GranularScopeRequest[]): StoredScope[] {
  const merged = new Map<string, StoredScope>()
  const add = (access: ScopeAccess, namespaceId: number | null, permissions: string[]) => {
    const key = `${access}:${namespaceId ?? ''}`
    const current = merged.get(key)
    const union = new Set([...(current?.permissions ?? []), ...permissions])
    merged.set(key, { access, namespace_id: namespaceId, permissions: [...union].sort() })
  }
  for (const s of scopes) {
    if (s.access === 'selected_memberships') {
      for (const target of scopeTargets(s)) add(s.access, target.id, s.permissions)
    } else {
      add(s.access, null, s.permissions)
    }
  }
  return [...merged.values()]
}

/**
 * Stored rows in GitLab's response shape: one entry per row (per target), `project_id` or `group_id`
 * naming the target and the other null; both null for accesses without a target.
 */
export function presentScopes(rows: StoredScope[], kindOf: (namespaceId: number) => 'group' | 'project' | 'user' | undefined): GranularScopeEntry[] {
  return rows.map((row) => {
    const isProject = row.namespace_id !== null && kindOf(row.namespace_id) === 'project'
    return {
      access: row.access,
      permissions: row.permissions,
      project_id: isProject ? row.namespace_id : null,
      group_id: isProject ? null : row.namespace_id,
    }
  })
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
