// SQL for the directory: users, namespaces (with full paths and traversal ids), memberships.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { MembershipRow, NamespaceRow, UserKind, UserState } from '../../db/types.js'
import type { AuditContext } from '../audit/service.js'

export interface UserValues {
  id: number
  username: string
  name: string
  email: string
  state: UserState
  is_admin: boolean
  kind: UserKind
  service_account_group_id: number | null
}

/** Upserts users; bumps `version` only when something a decision depends on changed. */
export async function upsertUsers(trx: Trx, rows: UserValues[]) {
  if (rows.length === 0) return []
  return usersUpsert(trx, rows).returningAll().execute()
}

/** The same, for a bulk load: nothing returned (parsing the rows back cost more than writing them). */
export async function upsertUserBatch(trx: Trx, rows: UserValues[]): Promise<void> {
  if (rows.length > 0) await usersUpsert(trx, rows).execute()
}

function usersUpsert(trx: Trx, rows: UserValues[]) {
  return trx
    .insertInto('users')
    .values(rows)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        username: eb.ref('excluded.username'),
        name: eb.ref('excluded.name'),
        email: eb.ref('excluded.email'),
        state: eb.ref('excluded.state'),
        is_admin: eb.ref('excluded.is_admin'),
        kind: eb.ref('excluded.kind'),
        service_account_group_id: eb.ref('excluded.service_account_group_id'),
        updated_at: sql`now()`,
        version: sql`users.version + case when users.state is distinct from excluded.state
          or users.is_admin is distinct from excluded.is_admin then 1 else 0 end`,
      })),
    )
}

/**
 * `id = any($1)`: one array parameter instead of an IN list. A bulk load asks about up to 100,000
 * ids, past PostgreSQL's 65,535 parameters per statement; and it asks ID_CHUNK at a time, since
 * turning 50,000 ids into one array parameter held the event loop ~30-70 ms.
 */
const idIn = (ids: number[]) => sql<boolean>`id = any(${ids}::bigint[])`
const ID_CHUNK = 5000

async function byIdChunks<T>(ids: number[], query: (chunk: number[]) => Promise<T[]>): Promise<T[]> {
  if (ids.length <= ID_CHUNK) return query(ids)
  const out: T[] = []
  for (let i = 0; i < ids.length; i += ID_CHUNK) for (const row of await query(ids.slice(i, i + ID_CHUNK))) out.push(row)
  return out
}

export async function findUser(db: Db | Trx, id: number) {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findExistingUserIds(db: Db | Trx, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const rows = await byIdChunks(ids, (chunk) => db.selectFrom('users').select('id').where(idIn(chunk)).execute())
  return new Set(rows.map((r) => r.id))
}

export async function findNamespaces(db: Db | Trx, ids: number[], lock = false): Promise<Map<number, NamespaceRow>> {
  if (ids.length === 0) return new Map()
  const rows = await byIdChunks(ids, (chunk) => {
    const q = db.selectFrom('namespaces').selectAll().where(idIn(chunk))
    return (lock ? q.forUpdate() : q).execute()
  })
  return new Map(rows.map((r) => [r.id, r]))
}

export async function findExistingNamespaceIds(db: Db | Trx, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const rows = await byIdChunks(ids, (chunk) => db.selectFrom('namespaces').select('id').where(idIn(chunk)).execute())
  return new Set(rows.map((r) => r.id))
}

export type NamespaceValues = Omit<NamespaceRow, 'created_at' | 'updated_at' | 'version'>

export async function upsertNamespaceRows(trx: Trx, rows: NamespaceValues[]) {
  if (rows.length === 0) return []
  return namespacesUpsert(trx, rows).returningAll().execute()
}

/** The same, for a bulk load: nothing returned. */
export async function upsertNamespaceBatch(trx: Trx, rows: NamespaceValues[]): Promise<void> {
  if (rows.length > 0) await namespacesUpsert(trx, rows).execute()
}

function namespacesUpsert(trx: Trx, rows: NamespaceValues[]) {
  return trx
    .insertInto('namespaces')
    .values(rows)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        parent_id: eb.ref('excluded.parent_id'),
        path: eb.ref('excluded.path'),
        full_path: eb.ref('excluded.full_path'),
        name: eb.ref('excluded.name'),
        visibility: eb.ref('excluded.visibility'),
        owner_id: eb.ref('excluded.owner_id'),
        traversal_ids: eb.ref('excluded.traversal_ids'),
        updated_at: sql`now()`,
        // a repeated PUT must not invalidate every cached entry for the namespace
        version: sql`namespaces.version + case when (namespaces.parent_id, namespaces.path, namespaces.full_path,
          namespaces.visibility, namespaces.owner_id, namespaces.traversal_ids) is distinct from (excluded.parent_id,
          excluded.path, excluded.full_path, excluded.visibility, excluded.owner_id, excluded.traversal_ids) then 1 else 0 end`,
      })),
    )
}

/** How deep the subtree rooted at `id` (itself included) reaches, and its longest full path. */
export async function subtreeExtent(trx: Trx, id: number): Promise<{ depth: number; fullPathLength: number }> {
  const row = await trx
    .selectFrom('namespaces')
    .select([sql<number>`max(cardinality(traversal_ids))`.as('depth'), sql<number>`max(length(full_path))`.as('fullPathLength')])
    .where(sql<boolean>`traversal_ids @> array[${id}]::bigint[]`)
    .executeTakeFirstOrThrow()
  return { depth: row.depth ?? 0, fullPathLength: row.fullPathLength ?? 0 }
}

/**
 * After a namespace moved or was renamed, rewrites every descendant's traversal ids and full path
 * from the old prefix to the new one, in one statement. Returns the rows that changed.
 */
export async function rewriteDescendants(
  trx: Trx,
  id: number,
  before: { full_path: string; depth: number },
  after: { full_path: string; traversal_ids: number[] },
): Promise<NamespaceRow[]> {
  const rows = await sql<NamespaceRow>`
    update namespaces
       set traversal_ids = ${sql.val(after.traversal_ids)}::bigint[] || traversal_ids[${before.depth + 1}:],
           full_path = ${after.full_path} || substr(full_path, ${before.full_path.length + 1}),
           version = version + 1,
           updated_at = now()
     where traversal_ids @> array[${id}]::bigint[] and id <> ${id}
     returning *`.execute(trx)
  return rows.rows
}

export async function hasChildren(db: Db | Trx, id: number): Promise<boolean> {
  const row = await db.selectFrom('namespaces').select('id').where('parent_id', '=', id).limit(1).executeTakeFirst()
  return row !== undefined
}

export interface MembershipValues {
  user_id: number
  namespace_id: number
  access_level: number
  expires_at: string | null
}

/** Upserts memberships, for a bulk load (an identical row is left alone): the users whose memberships were inserted or changed. */
export async function upsertMembershipBatch(trx: Trx, rows: MembershipValues[]): Promise<number[]> {
  if (rows.length === 0) return []
  return (await membershipsUpsert(trx, rows).returning('user_id').execute()).map((r) => r.user_id)
}

function membershipsUpsert(trx: Trx, rows: MembershipValues[]) {
  return trx
    .insertInto('memberships')
    .values(rows)
    .onConflict((oc) =>
      oc
        .columns(['user_id', 'namespace_id'])
        .doUpdateSet((eb) => ({
          access_level: eb.ref('excluded.access_level'),
          expires_at: eb.ref('excluded.expires_at'),
          updated_at: sql`now()`,
        }))
        .where(sql<boolean>`(memberships.access_level, memberships.expires_at) is distinct from (excluded.access_level, excluded.expires_at)`),
    )
}

/**
 * Removes the membership, raises its user's version and records 'directory.membership_removed', in
 * one statement (fgpat_remove_membership, migration 0024). The removed row, or undefined if none.
 */
export async function removeMembership(db: Db | Trx, userId: number, namespaceId: number, by: AuditContext): Promise<MembershipRow | undefined> {
  const { rows } = await sql<MembershipRow>`select * from fgpat_remove_membership(${userId}::bigint, ${namespaceId}::bigint,
    ${by.actor.type}::text, ${by.actor.id}::text, ${by.ip}::text, ${by.requestId}::text)`.execute(db)
  return rows[0]
}

/**
 * Puts the membership (its user's version raised only when it changed) and records
 * 'directory.membership_upserted', in one statement (fgpat_put_membership, migration 0024). When
 * the user or the namespace does not exist, nothing is written and `missing` says which.
 */
export async function putMembership(db: Db | Trx, values: MembershipValues, by: AuditContext):
  Promise<{ missing: 'user' | 'namespace' } | { missing: null; membership: MembershipRow }> {
  const { rows: [r] } = await sql<{ missing: 'user' | 'namespace' | null; changed: boolean } & MembershipRow>`select * from fgpat_put_membership(
    ${values.user_id}::bigint, ${values.namespace_id}::bigint, ${values.access_level}::smallint, ${values.expires_at}::date,
    ${by.actor.type}::text, ${by.actor.id}::text, ${by.ip}::text, ${by.requestId}::text)`.execute(db)
  if (r.missing !== null) return { missing: r.missing }
  const { missing: _missing, changed: _changed, ...membership } = r
  return { missing: null, membership }
}

export async function bumpUserVersions(trx: Trx, userIds: number[]) {
  if (userIds.length === 0) return
  await byIdChunks(userIds, async (chunk) => {
    await trx.updateTable('users').set({ version: sql`version + 1` }).where(idIn(chunk)).execute()
    return []
  })
}

/** Of these group ids, those that are not a top-level group (a service account's owner must be one). */
export async function notTopLevelGroups(db: Db | Trx, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('namespaces').select('id').where(idIn(ids)).where('kind', '=', 'group').where('parent_id', 'is', null).execute()
  const found = new Set(rows.map((r) => r.id))
  return new Set(ids.filter((id) => !found.has(id)))
}
