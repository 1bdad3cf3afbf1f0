// SQL behind least-privilege recommendations: a token's usage in a window, the namespaces it names
// (with their ancestors and, per group, how many projects the token reaches below it), and the
// token's reach in numbers. A fixed number of statements per recommendation, each under the pool's
// statement_timeout.
import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import type { Evidence, NamespaceFact, UsageAggregate } from '../../domain/recommend.js'
import type { ReachCount } from '../../domain/recommend-summary.js'
import { type Reach, reachCondition, reachesNothing } from './repository.js'

/**
 * A token's use per (permission, namespace) in [since, until], at most `limit` rows. A token that used
 * more distinct (permission, namespace) pairs than that is answered with no recommendation rather
 * than one built from part of its evidence.
 */
export async function usageInWindow(db: Db, tokenId: number, since: string, until: string, limit: number): Promise<UsageAggregate[]> {
  const rows = await db
    .selectFrom('token_usage_daily')
    .select(['permission', 'namespace_id'])
    .select(sql<string>`sum(allowed)`.as('allowed'))
    .select(sql<string>`sum(denied)`.as('denied'))
    .select(sql<string>`count(*) filter (where allowed > 0)`.as('days'))
    .where('token_id', '=', tokenId)
    .where('day', '>=', since)
    .where('day', '<=', until)
    .groupBy(['permission', 'namespace_id'])
    .orderBy('permission')
    .orderBy('namespace_id')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ permission: r.permission, namespace_id: Number(r.namespace_id), allowed: Number(r.allowed), denied: Number(r.denied), days: Number(r.days) }))
}

/**
 * Per token of `tokenIds`, in one statement: the window's allowed and denied decisions, the distinct
 * days with an allowed one and how many distinct (permission, namespace) pairs it used. Tokens
 * without use in the window are absent. For a page of tokens: most have too little use for a
 * recommendation, which these numbers alone decide (domain verdictFromEvidence).
 */
export async function evidenceOf(db: Db, tokenIds: number[], since: string, until: string): Promise<Map<number, Evidence & { pairs: number }>> {
  if (tokenIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('token_usage_daily')
    .select('token_id')
    .select(sql<string>`sum(allowed)`.as('allowed'))
    .select(sql<string>`sum(denied)`.as('denied'))
    .select(sql<string>`count(distinct day) filter (where allowed > 0)`.as('days'))
    .select(sql<string>`count(distinct (permission, namespace_id))`.as('pairs'))
    .where('token_id', '=', sql<number>`any(${sql.val(tokenIds)}::bigint[])`)
    .where('day', '>=', since)
    .where('day', '<=', until)
    .groupBy('token_id')
    .execute()
  return new Map(rows.map((r) => [Number(r.token_id), { allowed: Number(r.allowed), denied: Number(r.denied), days: Number(r.days), pairs: Number(r.pairs) }]))
}

/** Distinct days in [since, until] with at least one allowed decision. */
export async function allowedDays(db: Db, tokenId: number, since: string, until: string): Promise<number> {
  const row = await db
    .selectFrom('token_usage_daily')
    .select(sql<string>`count(distinct day)`.as('days'))
    .where('token_id', '=', tokenId)
    .where('day', '>=', since)
    .where('day', '<=', until)
    .where('allowed', '>', 0)
    .executeTakeFirstOrThrow()
  return Number(row.days)
}

/**
 * The namespaces `ids` and every ancestor of them; for groups and personal namespaces, how many
 * projects below them the token reaches for its owner today (the collapse rule's denominator).
 */
export async function namespaceFacts(db: Db, userId: number, reach: Reach, today: string, ids: number[]): Promise<NamespaceFact[]> {
  if (ids.length === 0) return []
  const reachable = reachesNothing(reach)
    ? sql<string>`0`
    : sql<string>`case when a.kind <> 'project' then (select count(*) from namespaces n
        where n.kind = 'project' and n.traversal_ids @> array[a.id]::bigint[] and ${reachCondition(userId, reach, today)}) end`
  const rows = await db
    .selectFrom('namespaces as a')
    .select(['a.id', 'a.kind', 'a.parent_id', 'a.traversal_ids', 'a.full_path'])
    .select(reachable.as('reachable_projects'))
    .where('a.id', 'in', sql<number>`(select unnest(s.traversal_ids) from namespaces s where s.id = any(${sql.val([...new Set(ids)])}::bigint[]))`)
    .execute()
  return rows.map((r) => ({
    id: Number(r.id), kind: r.kind, parent_id: r.parent_id === null ? null : Number(r.parent_id), traversal_ids: r.traversal_ids.map(Number), full_path: r.full_path,
    ...(r.reachable_projects === null ? {} : { reachable_projects: Number(r.reachable_projects) }),
  }))
}

/** How many projects and groups a reach covers for its owner (the preview's list, counted). */
export async function countReach(db: Db, userId: number, reach: Reach, today: string): Promise<ReachCount> {
  if (reachesNothing(reach)) return { projects: 0, groups: 0 }
  const row = await db
    .selectFrom('namespaces as n')
    .select(sql<string>`count(*) filter (where n.kind = 'project')`.as('projects'))
    .select(sql<string>`count(*) filter (where n.kind = 'group')`.as('groups'))
    .where(reachCondition(userId, reach, today))
    .executeTakeFirstOrThrow()
  return { projects: Number(row.projects), groups: Number(row.groups) }
}
