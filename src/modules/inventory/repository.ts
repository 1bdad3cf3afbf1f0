// SQL for the credential inventory. One filter builder serves the page, the summary and the CSV
// export, so they always agree on which tokens are "in" the inventory.
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely'
import type { Db } from '../../db/index.js'
import type { Database, TokenRow } from '../../db/types.js'

export interface InventoryFilters {
  /** Tokens able to reach this group (its subtree): selected scopes there, or broad tokens of its members. */
  groupId?: number
  userId?: number
  kind?: 'fine_grained' | 'legacy'
  state?: 'active' | 'revoked' | 'expired'
  expiresBefore?: string
  lastUsedBefore?: Date
  neverUsed?: boolean
  /** The permission itself, and the legacy scopes that grant it. */
  permission?: { name: string; legacyScopes: string[] }
  /** Tokens whose scopes reach this namespace (traversal ids of the namespace). */
  reachesTraversal?: number[]
}

type Eb = ExpressionBuilder<Database, 'personal_access_tokens'>

const broadToken = (eb: Eb) =>
  eb.or([
    eb('personal_access_tokens.kind', '=', 'legacy'),
    eb.exists(eb.selectFrom('personal_access_token_scopes as s').select(sql`1`.as('one')).whereRef('s.token_id', '=', 'personal_access_tokens.id').where('s.access', '=', 'all_memberships')),
  ])

export function inventoryWhere(f: InventoryFilters, today: string) {
  return (eb: Eb): Expression<SqlBool> => {
    const and: Expression<SqlBool>[] = []
    if (f.groupId !== undefined) {
      const inGroup = sql<boolean>`n.traversal_ids @> array[${f.groupId}]::bigint[]`
      and.push(eb.or([
        eb.exists(eb.selectFrom('personal_access_token_scopes as s').innerJoin('namespaces as n', 'n.id', 's.namespace_id').select(sql`1`.as('one'))
          .whereRef('s.token_id', '=', 'personal_access_tokens.id').where(inGroup)),
        eb.and([broadToken(eb), eb.exists(eb.selectFrom('memberships as m').innerJoin('namespaces as n', 'n.id', 'm.namespace_id').select(sql`1`.as('one'))
          .whereRef('m.user_id', '=', 'personal_access_tokens.user_id').where(inGroup))]),
      ]))
    }
    if (f.reachesTraversal) {
      const path = f.reachesTraversal
      and.push(eb.or([
        eb.exists(eb.selectFrom('personal_access_token_scopes as s').select(sql`1`.as('one')).whereRef('s.token_id', '=', 'personal_access_tokens.id').where('s.namespace_id', 'in', path)),
        eb.and([broadToken(eb), eb.exists(eb.selectFrom('memberships as m').select(sql`1`.as('one')).whereRef('m.user_id', '=', 'personal_access_tokens.user_id').where('m.namespace_id', 'in', path))]),
      ]))
    }
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
    if (f.permission) {
      const { name, legacyScopes } = f.permission
      and.push(eb.or([
        eb.exists(eb.selectFrom('personal_access_token_scopes as s').select(sql`1`.as('one')).whereRef('s.token_id', '=', 'personal_access_tokens.id')
          .where(sql<boolean>`s.permissions @> array[${name}]::text[]`)),
        eb.and([eb('personal_access_tokens.kind', '=', 'legacy'), sql<boolean>`personal_access_tokens.scopes && ${legacyScopes}::text[]`]),
      ]))
    }
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

export async function listInventory(db: Db, f: InventoryFilters, today: string, sort: InventorySort, page: number, perPage: number): Promise<{ total: number; rows: TokenRow[] }> {
  const where = inventoryWhere(f, today)
  const [{ count }] = await db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll<string>().as('count')).where(where).execute()
  let q = db.selectFrom('personal_access_tokens').selectAll().where(where)
  for (const [col, dir] of INVENTORY_SORTS[sort]) q = q.orderBy(col, sql`${sql.raw(dir)} nulls last`)
  const rows = await q.limit(perPage).offset((page - 1) * perPage).execute()
  return { total: Number(count), rows }
}

/** Counts in one pass over the filtered tokens. */
export async function summarizeInventory(db: Db, f: InventoryFilters, today: string, in7: string, in30: string) {
  const active = sql`revoked_at is null and (expires_at is null or expires_at > ${today}::date)`
  const row = await db.selectFrom('personal_access_tokens').where(inventoryWhere(f, today)).select([
    sql<string>`count(*)`.as('total'),
    sql<string>`count(*) filter (where kind = 'fine_grained')`.as('fine_grained'),
    sql<string>`count(*) filter (where kind = 'legacy')`.as('legacy'),
    sql<string>`count(*) filter (where ${active})`.as('active'),
    sql<string>`count(*) filter (where revoked_at is not null)`.as('revoked'),
    sql<string>`count(*) filter (where revoked_at is null and expires_at <= ${today}::date)`.as('expired'),
    sql<string>`count(*) filter (where ${active} and expires_at <= ${in7}::date)`.as('expiring_7'),
    sql<string>`count(*) filter (where ${active} and expires_at <= ${in30}::date)`.as('expiring_30'),
    sql<string>`count(*) filter (where ${active} and last_used_at is null)`.as('never_used'),
    sql<string>`count(*) filter (where ${active} and kind = 'legacy' and 'api' = any(scopes))`.as('legacy_with_api'),
  ]).executeTakeFirstOrThrow()
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as Record<keyof typeof row, number>
}

/** Keyset batches (id order) for the CSV export: memory stays bounded by one batch however many rows. */
export async function* inventoryBatches(db: Db, f: InventoryFilters, today: string, batch = 1000): AsyncGenerator<TokenRow[]> {
  let after = 0
  for (;;) {
    const rows = await db.selectFrom('personal_access_tokens').selectAll().where(inventoryWhere(f, today)).where('id', '>', after).orderBy('id').limit(batch).execute()
    if (rows.length > 0) yield rows
    if (rows.length < batch) return
    after = rows[rows.length - 1].id
  }
}
