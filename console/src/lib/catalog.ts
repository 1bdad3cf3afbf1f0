// The permission catalog (GET /permissions, /permissions/categories, /permissions/legacy_scopes),
// fetched once per page load and shared: it is public reference data that changes only with a
// release, and the drawer needs titles and descriptions for every token it shows.
import type { paths } from '../../../client/index.js'
import { api, must, type Permission } from './api.js'

type Json<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer T } } } } } ? T : never

export type Category = Json<'/api/v4/permissions/categories'>[number]
export type LegacyScope = Json<'/api/v4/permissions/legacy_scopes'>[number]

export interface Catalog {
  categories: Category[]
  permissions: Map<string, Permission>
  legacyScopes: Map<string, LegacyScope>
}

let loading: Promise<Catalog> | null = null

export function loadCatalog(): Promise<Catalog> {
  loading ??= Promise.all([
    must(api.GET('/api/v4/permissions')),
    must(api.GET('/api/v4/permissions/categories')),
    must(api.GET('/api/v4/permissions/legacy_scopes')),
  ]).then(
    ([permissions, categories, legacy]) => ({
      categories,
      permissions: new Map(permissions.map((p) => [p.name, p])),
      legacyScopes: new Map(legacy.map((s) => [s.name, s])),
    }),
    (err: unknown) => {
      loading = null // a failed load is tried again by the next view that asks
      throw err
    },
  )
  return loading
}

export interface CategoryGroup {
  id: string
  title: string
  description: string
  permissions: Array<{ name: string; title: string; description: string; includes?: string[] }>
}

/**
 * Permission names grouped by catalog category, in the catalog's display order. A name the catalog
 * does not know (retired since the token was made) is still listed, under "Other", so nothing the
 * token holds is hidden.
 */
export function groupByCategory(catalog: Catalog, names: Iterable<string>): CategoryGroup[] {
  const byCategory = new Map<string, CategoryGroup['permissions']>()
  const unknown: CategoryGroup['permissions'] = []
  for (const name of new Set(names)) {
    const p = catalog.permissions.get(name)
    if (!p) {
      unknown.push({ name, title: name, description: 'Not in the current permission catalog.' })
      continue
    }
    const list = byCategory.get(p.category) ?? []
    list.push({ name, title: p.title, description: p.description, ...(p.includes ? { includes: p.includes } : {}) })
    byCategory.set(p.category, list)
  }
  const groups: CategoryGroup[] = catalog.categories
    .filter((c) => byCategory.has(c.id))
    .map((c) => ({ id: c.id, title: c.title, description: c.description, permissions: byCategory.get(c.id)!.sort((a, b) => a.title.localeCompare(b.title)) }))
  if (unknown.length) groups.push({ id: 'other', title: 'Other', description: 'Permissions the catalog no longer lists.', permissions: unknown })
  return groups
}

/** "Code: Read" for read_code; the name itself when the catalog does not know it. */
export function permissionTitle(catalog: Catalog | null, name: string): string {
  return catalog?.permissions.get(name)?.title ?? name
}
