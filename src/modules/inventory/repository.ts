// SQL for the credential inventory. One filter builder serves the page, the summary and the CSV
// export, so they always agree on which tokens are "in" the inventory. Sized for a million tokens
// (bench/inventory.ts; indexes in migration 0005).
import { type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool, sql } from 'kysely'
import type { Db } from '../../db/index.js'
import type { Database, TokenRow } from '../../db/types.js'
import { PRESENTED_FIELDS, type PresentedRow } from '../tokens/present.js'

export interface InventoryFilters {
  /**
   * Tokens able to reach this group: selected scopes on it, below it or above it, or broad tokens of
   * members of any of those (a membership above the group is inherited down into it).
   */
  groupId?: number
  userId?: number
  kind?: 'fine_grained' | 'legacy'
  state?: 'active' | 'revoked' | 'expired'
  expiresBefore?: string
  lastUsedBefore?: Date
  neverUsed?: boolean
  /** The permission itself, and the legacy scopes that grant it. */
  permission?: { name: string; legacyScopes: string[] }
  /** Part of the token name, case-insensitive. */
  search?: string
  /** Tokens whose scopes reach this namespace (traversal ids of the namespace). */
  reachesTraversal?: number[]
}

type Eb = ExpressionBuilder<Database, 'personal_access_tokens'>

// Reach comes from fgpat_tokens_reaching (migration 0018): a selected scope on one of the given
// namespaces, or a broad token (legacy, all_memberships) of a member of one, each token once with
// whether it reaches through the "direct" namespaces. A PL/pgSQL function keeps its plan across
// requests, where the same union inline was planned again by every query (1.2-2.8 ms at 1M tokens).

/** A group's namespaces as the reach functions take them: the group and everything below it (direct), the groups above it (inherited). */
export const groupNamespaces = (groupId: number) => sql`
    array(select n.id from namespaces n where n.traversal_ids @> array[${groupId}]::bigint[]),
    coalesce((select a.traversal_ids[1:cardinality(a.traversal_ids) - 1] from namespaces a where a.id = ${groupId}), '{}')`

/**
 * The reach of a group: the group and everything below it directly, the groups above it inherited.
 * fgpat_group_reaching (migration 0021) finds those namespaces itself, so a page's query does not
 * plan groupNamespaces' two subqueries on every request.
 */
const groupReach = (groupId: number): RawBuilder<{ token_id: number; direct: boolean }> => sql`fgpat_group_reaching(${groupId}::bigint)`

/** The reach of a namespace (its traversal ids: itself and the groups above it). */
const namespaceReach = (traversal: number[]) => sql<{ token_id: number; direct: boolean }>`fgpat_tokens_reaching(${traversal}::bigint[], '{}')`

/** Tokens in a reach set: a semi-join, so a listing can walk its sort index and stop after a page. */
const inReach = (reach: RawBuilder<unknown>) => sql<SqlBool>`personal_access_tokens.id in (select r.token_id from ${reach} r)`

/**
 * Which of `tokenIds` reach the group directly: a selected scope on the group or below it, or a
 * broad token of a member of the group or of something below it. The others in the group's
 * inventory reach it only through a group above it (inherited).
 */
export async function directlyReaching(db: Db, groupId: number, tokenIds: number[]): Promise<Set<number>> {
  if (tokenIds.length === 0) return new Set()
  const { rows } = await sql<{ token_id: number }>`
    select r.token_id from ${groupReach(groupId)} r where r.direct and r.token_id = any(${tokenIds}::bigint[])`.execute(db)
  return new Set(rows.map((r) => Number(r.token_id)))
}

// On the token row itself (the permissions column, migration 0005): walking pat_created in page
// order it costs nothing per row, and the GIN indexes answer permissions few tokens hold.
function holding(p: { name: string; legacyScopes: string[] }) {
  const fineGrained = sql<SqlBool>`personal_access_tokens.permissions @> array[${p.name}]::text[]`
  if (p.legacyScopes.length === 0) return fineGrained
  // Only legacy tokens have scopes (constraint pat_scopes_only_legacy): no kind test needed.
  return sql<SqlBool>`(${fineGrained} or personal_access_tokens.scopes && ${p.legacyScopes}::text[])`
}

export function inventoryWhere(f: InventoryFilters, today: string) {
  return (eb: Eb): Expression<SqlBool> => {
    const and: Expression<SqlBool>[] = []
    // The group, everything below it and the groups above it.
    if (f.groupId !== undefined) and.push(inReach(groupReach(f.groupId)))
    // The namespace and its ancestors.
    if (f.reachesTraversal) and.push(inReach(namespaceReach(f.reachesTraversal)))
    if (f.userId !== undefined) and.push(eb('personal_access_tokens.user_id', '=', f.userId))
    if (f.kind) and.push(eb('personal_access_tokens.kind', '=', f.kind))
    if (f.state === 'revoked') and.push(eb('personal_access_tokens.revoked_at', 'is not', null))
    if (f.state === 'expired') and.push(eb.and([eb('personal_access_tokens.revoked_at', 'is', null), eb('personal_access_tokens.expires_at', '<=', today)]))
    if (f.state === 'active') {
      and.push(eb.and([eb('personal_access_tokens.revoked_at', 'is', null), eb.or([eb('personal_access_tokens.expires_at', 'is', null), eb('personal_access_tokens.expires_at', '>', today)])]))
    }
    if (f.expiresBefore) and.push(eb('personal_access_tokens.expires_at', '<', f.expiresBefore))
    if (f.lastUsedBefore) and.push(eb('personal_access_tokens.last_used_at', '<', f.lastUsedBefore))
    if (f.neverUsed) and.push(eb('personal_access_tokens.last_used_at', 'is', null))
    if (f.permission) and.push(holding(f.permission))
    // The search term's wildcards are taken literally, as on GET /personal_access_tokens.
    if (f.search) and.push(eb('personal_access_tokens.name', 'ilike', `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`))
    return eb.and(and)
  }
}

export const INVENTORY_SORTS = {
  created_desc: [['created_at', 'desc'], ['id', 'desc']],
  created_asc: [['created_at', 'asc'], ['id', 'asc']],
  expires_asc: [['expires_at', 'asc'], ['id', 'asc']],
  expires_desc: [['expires_at', 'desc'], ['id', 'desc']],
  last_used_desc: [['last_used_at', 'desc'], ['id', 'desc']],
  last_used_asc: [['last_used_at', 'asc'], ['id', 'asc']],
} as const
export type InventorySort = keyof typeof INVENTORY_SORTS

// created_at and id are never null: a plain direction there lets PostgreSQL read pat_created in
// order (`desc nulls last` would not match the index and sort every row instead).
const NULLABLE = new Set(['expires_at', 'last_used_at'])

// X-Total as GitLab gives it: exact up to 10,000 matching tokens, left out beyond (page links and
// X-Next-Page stay). A full count of a million rows would cost more than the page itself.
export const EXACT_TOTAL_UP_TO = 10_000
// Past this many expected rows (the planner's estimate, ~1 ms) there is no point counting to
// 10,001: the total is left out at once. Below it, a capped count reads at most 10,001 rows.
const COUNT_WHEN_EXPECTING_AT_MOST = 2 * EXACT_TOTAL_UP_TO

/** A page row: the token, its owner's kind and, in a group's inventory, whether it reaches the group directly. */
export type InventoryRow = PresentedRow & { owner_kind: 'human' | 'service_account'; reaches_directly: boolean | null }

export async function listInventory(db: Db, f: InventoryFilters, today: string, sort: InventorySort, page: number, perPage: number): Promise<{ total: number | null; hasNext: boolean; rows: InventoryRow[] }> {
  const where = inventoryWhere(f, today)
  // A reach filter (group, namespace) builds its whole set of tokens before sorting the page: a
  // window count over it costs nothing more, where a second query would build the set again.
  const reach = f.groupId !== undefined || f.reachesTraversal !== undefined
  // A group's reach is joined rather than filtered on: its `direct` column is the page's reach
  // column. The owner's kind rides on the page's own query too (a round trip less per page);
  // PostgreSQL evaluates it after the sort, for the page's rows only.
  // Only the columns the page shows (PRESENTED_FIELDS): a page of 20 rows parsed ~35 columns each.
  const tokens = f.groupId === undefined
    ? db.selectFrom('personal_access_tokens').select(PRESENTED_FIELDS).where(where).select(sql<boolean | null>`null::boolean`.as('reaches_directly'))
    : db.selectFrom('personal_access_tokens').innerJoin(groupReach(f.groupId).as('r'), 'r.token_id', 'personal_access_tokens.id')
      .select(PRESENTED_FIELDS).where(inventoryWhere({ ...f, groupId: undefined }, today)).select('r.direct as reaches_directly')
  let q = tokens.select(sql<'human' | 'service_account'>`(select u.kind from users u where u.id = personal_access_tokens.user_id)`.as('owner_kind'))
  if (reach) q = q.select(sql<string>`count(*) over ()`.as('matching'))
  for (const [col, dir] of INVENTORY_SORTS[sort]) {
    q = q.orderBy(col, (ob) => {
      const directed = dir === 'asc' ? ob.asc() : ob.desc()
      return NULLABLE.has(col) ? directed.nullsLast() : directed
    })
  }
  // One row more than the page says whether a next page exists without any total.
  const fetched = await q.limit(perPage + 1).offset((page - 1) * perPage).execute()
  const rows = fetched.slice(0, perPage)
  const hasNext = fetched.length > perPage
  const exact = (n: number) => (n > EXACT_TOTAL_UP_TO ? null : n)
  if (reach && fetched.length > 0) return { total: exact(Number((fetched[0] as { matching?: string }).matching)), hasNext, rows }
  // The last page (or an empty first one) tells the total exactly, for free.
  if (!hasNext && (rows.length > 0 || page === 1)) return { total: (page - 1) * perPage + rows.length, hasNext, rows }
  const matching = db.selectFrom('personal_access_tokens').select(sql`1`.as('one')).where(where)
  // An owner's tokens are few and indexed (pat_user_created): counting them is cheap. The other
  // filters ask the planner first whether counting is worth it.
  const narrow = reach || f.userId !== undefined
  if (!narrow && (await expectedRows(matching)) > COUNT_WHEN_EXPECTING_AT_MOST) return { total: null, hasNext, rows }
  const { count } = await db.selectFrom(matching.limit(EXACT_TOTAL_UP_TO + 1).as('m')).select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()
  return { total: exact(Number(count)), hasNext, rows }
}

async function expectedRows(query: { explain: (format: 'json') => Promise<Record<string, unknown>[]> }): Promise<number> {
  const [row] = await query.explain('json')
  const plan = (row?.['QUERY PLAN'] as { Plan?: { 'Plan Rows'?: number } }[] | undefined)?.[0]?.Plan
  return plan?.['Plan Rows'] ?? 0 // no estimate: count (capped) rather than guess
}

/** What the CSV export shows of a token: nothing more is read (no digests, no IPs). */
const CSV_FIELDS = ['id', 'user_id', 'name', 'kind', 'scopes', 'permissions', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'revoke_reason', 'token_hint'] as const
export type CsvTokenRow = Pick<TokenRow, (typeof CSV_FIELDS)[number]>

/** Keyset batches (id order) for the CSV export: memory stays bounded by one batch however many rows. */
export async function* inventoryBatches(db: Db, f: InventoryFilters, today: string, batch = 1000): AsyncGenerator<CsvTokenRow[]> {
  let after = 0
  for (;;) {
    const rows = await db.selectFrom('personal_access_tokens').select(CSV_FIELDS).where(inventoryWhere(f, today)).where('id', '>', after).orderBy('id').limit(batch).execute()
    if (rows.length > 0) yield rows
    if (rows.length < batch) return
    after = rows[rows.length - 1].id
  }
}

/** Whether each owner is a person or a service account (the inventory shows which). */
export async function ownerKinds(db: Db, userIds: number[]): Promise<Map<number, 'human' | 'service_account'>> {
  if (userIds.length === 0) return new Map()
  const rows = await db.selectFrom('users').select(['id', 'kind']).where('id', 'in', [...new Set(userIds)]).execute()
  return new Map(rows.map((r) => [r.id, r.kind]))
}
