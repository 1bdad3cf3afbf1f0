import type { CategoryId } from '../categories.js'
import type { AccessLevel, Boundary, HttpMethod, Permission, Route } from '../types.js'

export { ACCESS_LEVEL } from '../types.js'

/**
 * The boundary sets the catalog uses. Project-level resources may also be granted at a group
 * boundary, which then covers every project below that group.
 */
export const PROJECT_OR_GROUP: Boundary[] = ['project', 'group']
export const GROUP_ONLY: Boundary[] = ['group']
export const USER_ONLY: Boundary[] = ['user']
export const INSTANCE_ONLY: Boundary[] = ['instance']

/** One catalog entry as written in a category file; the rest is filled from the category. */
export interface PermissionEntry {
  name: string
  title: string
  description: string
  minAccessLevel: AccessLevel
  access: 'read' | 'write'
  boundaries?: Boundary[]
  publicRead?: boolean
  requiresAdmin?: boolean
  includes?: string[]
  synonyms?: string[]
  routes?: Route[]
  noRoute?: string
}

const route = (method: HttpMethod) => (path: string, on?: Route['on']): Route =>
  Object.freeze(on === undefined ? { method, path } : { method, path, on })
/** Route helpers, so that a catalog entry reads like GitLab's docs: `GET('/projects/:id/jobs')`. */
export const GET = route('GET')
export const POST = route('POST')
export const PUT = route('PUT')
export const PATCH = route('PATCH')
export const DELETE = route('DELETE')

interface CategoryDefaults {
  boundaries: Boundary[]
}

/**
 * Builds one category's permissions. Defaults keep the entries short: most entries of a category
 * share their boundaries, and nothing is public or administrative unless it says so.
 * `requiresAdmin` defaults to "grantable only at the instance", the administrative boundary.
 * Records are frozen because every caller shares them.
 */
export function defineCategory(
  category: CategoryId,
  defaults: CategoryDefaults,
  entries: PermissionEntry[],
): Permission[] {
  return entries.map((entry) => {
    const boundaries = entry.boundaries ?? defaults.boundaries
    const permission: Permission = {
      name: entry.name,
      title: entry.title,
      description: entry.description,
      category,
      boundaries: Object.freeze([...boundaries]) as Boundary[],
      minAccessLevel: entry.minAccessLevel,
      requiresAdmin: entry.requiresAdmin ?? boundaries.every((boundary) => boundary === 'instance'),
      publicRead: entry.publicRead ?? false,
      access: entry.access,
    }
    if (entry.includes) permission.includes = Object.freeze([...entry.includes]) as string[]
    if (entry.synonyms) permission.synonyms = Object.freeze([...entry.synonyms]) as string[]
    if (entry.routes) permission.routes = Object.freeze([...entry.routes]) as Route[]
    if (entry.noRoute) permission.noRoute = entry.noRoute
    return Object.freeze(permission)
  })
}
