import { PERMISSIONS } from './catalog.js'
import { CATEGORIES } from './categories.js'
import { LEGACY_SCOPES } from './legacy.js'
import type { Boundary, Permission } from './types.js'

export { ACCESS_LEVEL } from './types.js'
export type { AccessLevel, Boundary, Category, HttpMethod, LegacyScope, Permission, Route } from './types.js'
export type { CategoryId } from './categories.js'
export { CATEGORIES, LEGACY_SCOPES, PERMISSIONS }

const PERMISSIONS_BY_NAME: ReadonlyMap<string, Permission> = new Map(
  PERMISSIONS.map((permission) => [permission.name, permission]),
)

export function getPermission(name: string): Permission | undefined {
  return PERMISSIONS_BY_NAME.get(name)
}

export function isKnownPermission(name: string): boolean {
  return PERMISSIONS_BY_NAME.has(name)
}

/**
 * The given names plus everything their bundles include, recursively. Unknown names are kept so
 * that the caller, not this function, decides whether they are an error.
 */
export function expandPermissions(names: Iterable<string>): Set<string> {
  const expanded = new Set<string>()
  const pending = [...names]
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    // The visited check also makes a cyclic bundle harmless, should one ever slip in.
    if (expanded.has(name)) continue
    expanded.add(name)
    pending.push(...(PERMISSIONS_BY_NAME.get(name)?.includes ?? []))
  }
  return expanded
}

// Scopes are expanded once: the decision asks for them on every legacy-token request.
const LEGACY_SCOPE_PERMISSIONS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  LEGACY_SCOPES.map((scope) => [
    scope.name,
    scope.permissions === 'all'
      ? new Set(PERMISSIONS.map((permission) => permission.name).filter((name) => !scope.except?.includes(name)))
      : expandPermissions(scope.permissions),
  ]),
)

/** The expanded permissions a legacy scope grants, shared (read only: the hot path asks per request). */
export function legacyScopeGrants(scope: string): ReadonlySet<string> | undefined {
  return LEGACY_SCOPE_PERMISSIONS.get(scope)
}

/** The expanded permissions a legacy scope grants (a fresh copy), or undefined for an unknown scope. */
export function legacyScopePermissions(scope: string): Set<string> | undefined {
  const permissions = LEGACY_SCOPE_PERMISSIONS.get(scope)
  return permissions === undefined ? undefined : new Set(permissions)
}

export function isLegacyScope(name: string): boolean {
  return LEGACY_SCOPE_PERMISSIONS.has(name)
}

const ADMIN_ONLY_SCOPES: ReadonlySet<string> = new Set(LEGACY_SCOPES.filter((scope) => scope.adminOnly).map((scope) => scope.name))

/** GitLab's admin scopes (sudo, admin_mode): only an administrator's token may hold them. */
export function isAdminOnlyLegacyScope(name: string): boolean {
  return ADMIN_ONLY_SCOPES.has(name)
}

/** Titles for display, e.g. in deny messages ("Merge request: Create"); unknown names pass through. */
export function permissionTitles(names: Iterable<string>): string[] {
  return Array.from(names, (name) => PERMISSIONS_BY_NAME.get(name)?.title ?? name)
}

export interface PermissionQuery {
  search?: string
  category?: string
  boundary?: Boundary
}

/**
 * Filters by category and boundary, then, when there is a search text, keeps the matches ordered
 * best first (see `matchRank`); ties and unsearched listings keep catalog order.
 */
export function searchPermissions(query: PermissionQuery): Permission[] {
  const filtered = PERMISSIONS.filter(
    (permission) =>
      (query.category === undefined || permission.category === query.category) &&
      (query.boundary === undefined || permission.boundaries.includes(query.boundary)),
  )
  const text = normalize(query.search ?? '')
  if (text === '') return filtered

  return filtered
    .map((permission, position) => ({ permission, position, rank: matchRank(permission, text) }))
    .filter((match): match is { permission: Permission; position: number; rank: number } => match.rank !== undefined)
    .sort((a, b) => a.rank - b.rank || a.position - b.position)
    .map((match) => match.permission)
}

/** Lower case, with underscores and runs of spaces as one space, so `merge request` finds `*_merge_request`. */
function normalize(text: string): string {
  return text.toLowerCase().replace(/[_\s]+/g, ' ').trim()
}

/**
 * How well a permission matches, lower is better, undefined for no match. Exact names beat titles
 * and the resource part of a title ("release" for "Release: …"), which beat synonyms people type
 * ("clone"), which beat partial name and title matches, which beat descriptions. A query of
 * several words that matches nowhere as a phrase still matches when every word appears somewhere.
 */
function matchRank(permission: Permission, text: string): number | undefined {
  const name = normalize(permission.name)
  const title = normalize(permission.title)
  const resource = title.split(':')[0]
  const synonyms = (permission.synonyms ?? []).map(normalize)
  const description = normalize(permission.description)

  if (name === text) return 0
  if (title === text || resource === text) return 1
  if (synonyms.includes(text)) return 2
  if (name.startsWith(text) || title.startsWith(text)) return 3
  if (name.includes(text) || title.includes(text)) return 4
  if (synonyms.some((synonym) => synonym.includes(text))) return 5
  if (description.includes(text)) return 6

  const everything = [name, title, ...synonyms, description].join(' ')
  const words = text.split(' ')
  if (words.length > 1 && words.every((word) => everything.includes(word))) return 7
  return undefined
}
