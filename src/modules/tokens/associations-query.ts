// SQL for `GET /personal_access_tokens/self/associations`: one page of the groups or of the projects a
// token reaches, with the levels and names GitLab's answer carries.
import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { effectiveLevel, type Reach, reachCondition, reachesNothing } from './repository.js'

export interface AssociationsPageQuery {
  kind: 'group' | 'project'
  /** The token asking: groups whose owners removed its access (and everything below them) are left out. */
  tokenId: number
  /** Only namespaces where the owner's effective level is at least this. */
  minLevel: number | undefined
  page: number
  perPage: number
}

export interface AssociatedNamespace {
  id: number
  name: string
  path: string
  full_path: string
  parent_id: number | null
  visibility: string
  created_at: Date
  /** The owner's effective level there (max membership on the path; 50 in their personal namespace). */
  access_level: number
  /** Projects: the owner's own membership on the project (50 for a project in their personal namespace). */
  project_access_level: number | null
  /** Projects: the owner's highest membership on the groups above the project. */
  group_access_level: number | null
  name_with_namespace: string
  parent_name: string | null
  parent_path: string | null
  parent_kind: 'group' | 'project' | 'user' | null
  parent_full_path: string | null
  parent_parent_id: number | null
}

export async function associationsPage(db: Db, userId: number, reach: Reach, today: string, q: AssociationsPageQuery): Promise<{ total: number; rows: AssociatedNamespace[] }> {
  if (reachesNothing(reach)) return { total: 0, rows: [] }
  const level = effectiveLevel(userId, today)
  const live = (m: string) => sql`(${sql.ref(`${m}.expires_at`)} is null or ${sql.ref(`${m}.expires_at`)} > ${today}::date)`
  const notRemoved = sql`not exists (select 1 from group_access_removals x where x.token_id = ${q.tokenId} and x.group_id = any(n.traversal_ids))`
  const matching = sql<boolean>`n.kind = ${q.kind} and ${reachCondition(userId, reach, today)} and ${notRemoved}${q.minLevel === undefined ? sql`` : sql` and ${level} >= ${q.minLevel}`}`
  const [{ total }, rows] = await Promise.all([
    db.selectFrom('namespaces as n').select((eb) => eb.fn.countAll<string>().as('total')).where(matching).executeTakeFirstOrThrow(),
    db
      .selectFrom('namespaces as n')
      .leftJoin('namespaces as p', 'p.id', 'n.parent_id')
      .select(['n.id', 'n.name', 'n.path', 'n.full_path', 'n.parent_id', 'n.visibility', 'n.created_at'])
      .select([
        sql<number>`${level}`.as('access_level'),
        sql<number | null>`greatest(
          (select m.access_level from memberships m where m.user_id = ${userId} and m.namespace_id = n.id and ${live('m')}),
          (select 50 from namespaces r where r.id = n.traversal_ids[1] and r.kind = 'user' and r.owner_id = ${userId}))`.as('project_access_level'),
        sql<number | null>`(select max(m.access_level) from memberships m
          where m.user_id = ${userId} and m.namespace_id = any(n.traversal_ids) and m.namespace_id <> n.id and ${live('m')})`.as('group_access_level'),
        sql<string>`(select string_agg(a.name, ' / ' order by array_position(n.traversal_ids, a.id)) from namespaces a where a.id = any(n.traversal_ids))`.as('name_with_namespace'),
        'p.name as parent_name', 'p.path as parent_path', 'p.kind as parent_kind', 'p.full_path as parent_full_path', 'p.parent_id as parent_parent_id',
      ])
      .where(matching)
      .orderBy('n.full_path')
      .limit(q.perPage)
      .offset((q.page - 1) * q.perPage)
      .execute(),
  ])
  return { total: Number(total), rows }
}
