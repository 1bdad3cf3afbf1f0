// The "My tokens" list's filters live in the address (?state=inactive&search=ci&sort=name_asc&page=2),
// so a filtered list, and a drawer opened over it, can be linked, reloaded and gone back to.
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import type { paths } from '../../../client/index.js'

type ListQuery = NonNullable<paths['/api/v4/personal_access_tokens']['get']['parameters']['query']>
export type TokenSort = NonNullable<ListQuery['sort']>
export type TokenTab = 'active' | 'inactive'

/** The API's sort values, as people read them. */
export const SORT_LABELS: Record<TokenSort, string> = {
  created_desc: 'Newest first',
  created_asc: 'Oldest first',
  expires_asc: 'Expiring soonest',
  expires_desc: 'Expiring latest',
  last_used_desc: 'Recently used',
  last_used_asc: 'Least recently used',
  name_asc: 'Name (A–Z)',
  name_desc: 'Name (Z–A)',
}

export const PER_PAGE = 20

export interface TokenFilters {
  state: TokenTab
  search: string
  sort: TokenSort
  page: number
}

const first = (v: LocationQuery[string]) => (Array.isArray(v) ? v[0] : v) ?? ''

export function filtersFromQuery(q: LocationQuery): TokenFilters {
  const sort = first(q.sort)
  const page = Number.parseInt(first(q.page), 10)
  return {
    state: first(q.state) === 'inactive' ? 'inactive' : 'active',
    search: first(q.search).slice(0, 255),
    sort: sort in SORT_LABELS ? (sort as TokenSort) : 'created_desc',
    page: Number.isSafeInteger(page) && page > 0 ? page : 1,
  }
}

/** Defaults are left out, so the plain list stays /tokens. */
export function queryFromFilters(f: TokenFilters): LocationQueryRaw {
  const q: LocationQueryRaw = {}
  if (f.state !== 'active') q.state = f.state
  if (f.search) q.search = f.search
  if (f.sort !== 'created_desc') q.sort = f.sort
  if (f.page > 1) q.page = String(f.page)
  return q
}
