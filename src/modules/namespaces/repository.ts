// SQL for the groups and projects a user may see here: what their memberships (inherited down the
// tree) and their personal namespace reach, as a token form offers them; administrators see all.
import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { effectiveLevel, reachCondition } from '../tokens/repository.js'

export interface NamespaceQuery {
  kind: 'group' | 'project'
  /** null: an administrator, who sees every namespace (their own level is still reported). */
  userId: number
  admin: boolean
  today: string
  search?: string
  minLevel?: number
  ids?: number[]
  page: number
  perPage: number
}

export interface NamespaceRow {
  id: number
  kind: 'group' | 'project'
  name: string
  path: string
  full_path: string
  parent_id: number | null
  visibility: string
  created_at: Date
  access_level: number | null
  full_name: string
  parent_name: string | null
  parent_kind: 'group' | 'project' | 'user' | null
  parent_full_path: string | null
}

const EVERYTHING = { selectedIds: [], allMemberships: true, personalProjects: true }

/** LIKE pattern for a search term, with its wildcards taken literally. */
const contains = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export async function namespacesPage(db: Db, q: NamespaceQuery): Promise<{ total: number; rows: NamespaceRow[] }> {
  const level = effectiveLevel(q.userId, q.today)
  const conditions = [sql<boolean>`n.kind = ${q.kind}`]
  if (!q.admin) conditions.push(reachCondition(q.userId, EVERYTHING, q.today))
  if (q.search) conditions.push(sql<boolean>`(n.full_path ilike ${contains(q.search)} or n.name ilike ${contains(q.search)})`)
  if (q.minLevel !== undefined) conditions.push(sql<boolean>`${level} >= ${q.minLevel}`)
  if (q.ids) conditions.push(sql<boolean>`n.id = any(${sql.val(q.ids)}::bigint[])`)
  const where = sql<boolean>`${sql.join(conditions, sql` and `)}`
  const [{ total }, rows] = await Promise.all([
    db.selectFrom('namespaces as n').select((eb) => eb.fn.countAll<string>().as('total')).where(where).executeTakeFirstOrThrow(),
    db
      .selectFrom('namespaces as n')
      .leftJoin('namespaces as p', 'p.id', 'n.parent_id')
      .select(['n.id', 'n.name', 'n.path', 'n.full_path', 'n.parent_id', 'n.visibility', 'n.created_at'])
      .select([
        sql<'group' | 'project'>`n.kind`.as('kind'),
        level.as('access_level'),
        sql<string>`(select string_agg(a.name, ' / ' order by array_position(n.traversal_ids, a.id)) from namespaces a where a.id = any(n.traversal_ids))`.as('full_name'),
        'p.name as parent_name', 'p.kind as parent_kind', 'p.full_path as parent_full_path',
      ])
      .where(where)
      .orderBy('n.full_path')
      .limit(q.perPage)
      .offset((q.page - 1) * q.perPage)
      .execute(),
  ])
  return { total: Number(total), rows: rows as NamespaceRow[] }
}

export interface UserQuery {
  /** Administrators also see blocked and deactivated users; everyone else the active ones, as GitLab lists them. */
  admin: boolean
  username?: string
  search?: string
  ids?: number[]
  page: number
  perPage: number
}

/** Users by exact username, by part of the username or name, or by id. */
export async function usersPage(db: Db, q: UserQuery) {
  let base = db.selectFrom('users')
  if (!q.admin) base = base.where('state', '=', 'active')
  if (q.username !== undefined) base = base.where(sql<boolean>`lower(username) = lower(${q.username})`)
  if (q.search) base = base.where((eb) => eb.or([eb('username', 'ilike', contains(q.search!)), eb('name', 'ilike', contains(q.search!))]))
  if (q.ids) base = base.where(sql<boolean>`id = any(${sql.val(q.ids)}::bigint[])`)
  const [{ total }, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<string>().as('total')).executeTakeFirstOrThrow(),
    base.select(['id', 'username', 'name', 'state']).orderBy('id').limit(q.perPage).offset((q.page - 1) * q.perPage).execute(),
  ])
  return { total: Number(total), rows }
}
