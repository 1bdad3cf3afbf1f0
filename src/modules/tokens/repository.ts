// SQL for personal access tokens and their scopes, plus the directory reads token rules need
// (effective access of an owner on namespaces, what a scope set can reach).
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { NewTokenRow, TokenRow, TokenScopeRow, TokenUpdate } from '../../db/types.js'
import type { StoredScope } from '../../domain/scopes.js'
import type { AuditContext } from '../audit/service.js'
import { type ConversionRow, conversionLinksFrom, tokenFacts } from './facts.js'

type Q = Db | Trx

export async function insertToken(trx: Trx, values: NewTokenRow, scopes: StoredScope[]): Promise<TokenRow> {
  // Without a family_id the row starts its own rotation family: a trigger sets it to the new id (migration 0022).
  const row = await trx.insertInto('personal_access_tokens').values(values).returningAll().executeTakeFirstOrThrow()
  await insertScopes(trx, row.id, scopes)
  return row
}

/** The columns a token issued on its own has (no predecessor, duplicate or conversion to carry over). */
export type StandaloneTokenRow = Required<Pick<NewTokenRow, 'user_id' | 'name' | 'description' | 'kind' | 'scopes' | 'token_digest' | 'token_hint' | 'expires_at' | 'created_by' | 'template_id'>>

/** A new token's columns and its scopes (in order, as jsonb_to_recordset reads them): the arguments fgpat_create_token and fgpat_rotate_token share. */
const tokenArgs = (v: StandaloneTokenRow, scopes: StoredScope[]) => sql`
  ${v.user_id}::bigint, ${v.name}::text, ${v.description}::text, ${v.kind}::text, ${v.scopes}::text[],
  ${v.token_digest}::bytea, ${v.token_hint}::text, ${v.expires_at}::date, ${v.created_by}::text, ${v.template_id}::bigint,
  ${JSON.stringify(scopes.map((s) => ({ access: s.access, namespace_id: s.namespace_id, permissions: s.permissions })))}::jsonb`

/** Who writes (the audit event's actor) and the event's details, IP and request id: the functions take the actor and the rest apart. */
const actorArgs = (ctx: AuditContext) => sql`${ctx.actor.type}::text, ${ctx.actor.id}::text`
const eventArgs = (ctx: AuditContext, details: Record<string, unknown>) => sql`${JSON.stringify(details)}::jsonb, ${ctx.ip}::text, ${ctx.requestId}::text`

/**
 * A new token, its scopes and its 'token.created' audit event (whose target is the new row) in one
 * statement (fgpat_create_token, migration 0024): what a transaction of five round trips wrote before.
 */
export async function createToken(db: Q, values: StandaloneTokenRow, scopes: StoredScope[], ctx: AuditContext, details: Record<string, unknown>): Promise<TokenRow> {
  const { rows } = await sql<TokenRow>`select * from fgpat_create_token(
    ${tokenArgs(values, scopes)}, ${actorArgs(ctx)}, ${'token.created'}::text, ${eventArgs(ctx, details)})`.execute(db)
  return rows[0]
}

/**
 * Revokes the token unless it is revoked already (then undefined: revoking twice is a no-op), with
 * its 'token.revoked' audit event, in one statement (fgpat_revoke_token, migration 0024). The
 * event's details are the revoked row's (tokenAuditDetails' fields) plus `extra`.
 */
export async function revokeToken(
  db: Q, id: number, revocation: { revoked_at: Date; revoked_by: string; revoke_reason: string },
  ctx: AuditContext, extra: Record<string, unknown>, namespaceId: number | null = null,
): Promise<TokenRow | undefined> {
  const { rows } = await sql<TokenRow>`select * from fgpat_revoke_token(
    ${id}::bigint, ${revocation.revoked_at}::timestamptz, ${revocation.revoked_by}::text, ${revocation.revoke_reason}::text,
    ${actorArgs(ctx)}, ${namespaceId}::bigint, ${eventArgs(ctx, extra)})`.execute(db)
  return rows[0]
}

async function insertScopes(trx: Trx, tokenId: number, scopes: StoredScope[]) {
  if (scopes.length === 0) return
  await trx
    .insertInto('personal_access_token_scopes')
    .values(scopes.map((s) => ({ token_id: tokenId, access: s.access, namespace_id: s.namespace_id, permissions: s.permissions })))
    .execute()
}

export async function replaceScopes(trx: Trx, tokenId: number, scopes: StoredScope[]) {
  await trx.deleteFrom('personal_access_token_scopes').where('token_id', '=', tokenId).execute()
  await insertScopes(trx, tokenId, scopes)
}

export async function findToken(db: Q, id: number): Promise<TokenRow | undefined> {
  return db.selectFrom('personal_access_tokens').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function lockToken(trx: Trx, id: number): Promise<TokenRow | undefined> {
  return trx.selectFrom('personal_access_tokens').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function findTokenByDigests(db: Q, digests: Buffer[]): Promise<TokenRow | undefined> {
  return db.selectFrom('personal_access_tokens').selectAll().where('token_digest', 'in', digests).executeTakeFirst()
}

export async function updateToken(trx: Trx, id: number, changes: TokenUpdate): Promise<TokenRow> {
  return trx
    .updateTable('personal_access_tokens')
    .set({ ...changes, updated_at: sql`now()`, version: sql`version + 1` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** The token a rotation issued in place of `old` (same family, `old` as its predecessor). */
export async function successorOf(db: Q, old: Pick<TokenRow, 'id' | 'family_id'>): Promise<TokenRow | undefined> {
  return db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('family_id', '=', old.family_id ?? old.id)
    .where('previous_personal_access_token_id', '=', old.id)
    .executeTakeFirst()
}

/**
 * Serialises the changes of one rotation family (rotation, reuse revocation, a leak's revocation) by
 * locking its root row, always before any other row of the family: a family revocation then sees a
 * successor that a concurrent rotation issued, instead of missing it (its UPDATE starts after that
 * rotation commits). Then the member itself, in the same statement: the two rows are locked in id
 * order, and a root is its family's oldest row (the lowest id), so the root is locked first. The
 * member's row as locked (undefined when it is gone).
 */
export async function lockInFamily(trx: Trx, member: Pick<TokenRow, 'id' | 'family_id'>): Promise<TokenRow | undefined> {
  const rows = await trx.selectFrom('personal_access_tokens').selectAll()
    .where('id', 'in', [...new Set([member.family_id ?? member.id, member.id])]).orderBy('id').forUpdate().execute()
  return rows.find((r) => r.id === member.id)
}

/**
 * A rotation's writes in one statement (fgpat_rotate_token, migration 0024), inside the rotation's
 * transaction, which has locked the family and the old token and found that it may be rotated: the
 * successor with its scopes, the old token's group removals copied and its approval requests moved
 * to it, the old token revoked ('rotated'), and the 'token.rotated' audit event. The successor and
 * the revoked old row.
 */
export async function rotateToken(
  trx: Trx, oldId: number, familyId: number, revocation: { revoked_at: Date; revoked_by: string },
  successor: StandaloneTokenRow, scopes: StoredScope[], ctx: AuditContext, details: Record<string, unknown>,
): Promise<{ successor: TokenRow; revoked: TokenRow }> {
  const { rows } = await sql<TokenRow>`select * from fgpat_rotate_token(
    ${oldId}::bigint, ${familyId}::bigint, ${revocation.revoked_at}::timestamptz, ${revocation.revoked_by}::text,
    ${tokenArgs(successor, scopes)}, ${actorArgs(ctx)}, ${eventArgs(ctx, details)})`.execute(trx)
  const revoked = rows.find((r) => r.id === oldId)
  const issued = rows.find((r) => r.id !== oldId)
  if (!revoked || !issued) throw new Error(`rotating token ${oldId} returned ${rows.length} rows`)
  return { successor: issued, revoked }
}

/** Whether a reuse of this token was recorded after `since` (one alert per token per interval). */
export async function reuseRecordedSince(trx: Trx, tokenId: number, since: Date): Promise<boolean> {
  const row = await trx
    .selectFrom('audit_events')
    .select('id')
    .where('target_type', '=', 'personal_access_token')
    .where('target_id', '=', String(tokenId))
    .where('action', '=', 'token.reuse_detected')
    .where('occurred_at', '>', since)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/** Revokes every still-active token of a rotation family (reuse detection). Returns their ids. */
export async function revokeFamily(trx: Trx, familyId: number, by: string, reason: string, at: Date): Promise<TokenRow[]> {
  return trx
    .updateTable('personal_access_tokens')
    .set({ revoked_at: at, revoked_by: by, revoke_reason: reason, updated_at: sql`now()`, version: sql`version + 1` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .execute()
}

/**
 * The other end of each conversion among `rows`: a legacy token's fine-grained successor
 * (pat_converted_from, one at most), and for a successor the grace end of the legacy token it replaces.
 */
export async function conversionLinks(db: Q, rows: ConversionRow[]) {
  return conversionLinksFrom(await tokenFacts(db, { conversionsOf: rows }))
}

export async function scopesOf(db: Q, tokenIds: number[]): Promise<Map<number, TokenScopeRow[]>> {
  const out = new Map<number, TokenScopeRow[]>(tokenIds.map((id) => [id, []]))
  if (tokenIds.length === 0) return out
  const rows = await db
    .selectFrom('personal_access_token_scopes')
    .selectAll()
    .where('token_id', 'in', tokenIds)
    .orderBy('id')
    .execute()
  for (const r of rows) out.get(r.token_id)?.push(r)
  return out
}

export async function namespaceKinds(db: Q, ids: number[]): Promise<Map<number, 'group' | 'project' | 'user'>> {
  if (ids.length === 0) return new Map()
  const rows = await db.selectFrom('namespaces').select(['id', 'kind']).where('id', 'in', [...new Set(ids)]).execute()
  return new Map(rows.map((r) => [r.id, r.kind]))
}

export interface NamespaceAccess {
  id: number
  kind: 'group' | 'project' | 'user'
  full_path: string
  parent_id: number | null
  visibility: string
  traversal_ids: number[]
  /** The owner's effective level: max membership on the path, 50 inside their personal namespace. */
  access_level: number | null
}

/** The owner's effective level on namespace `n`: max membership on its path, 50 inside their personal namespace. */
export function effectiveLevel(userId: number, today: string) {
  return sql<number | null>`greatest(
    (select max(m.access_level) from memberships m
      where m.user_id = ${userId} and m.namespace_id = any(n.traversal_ids)
        and (m.expires_at is null or m.expires_at > ${today}::date)),
    (select 50 from namespaces r where r.id = n.traversal_ids[1] and r.kind = 'user' and r.owner_id = ${userId}))`
}

export async function namespacesWithAccess(db: Q, userId: number, ids: number[], today: string): Promise<Map<number, NamespaceAccess>> {
  if (ids.length === 0) return new Map()
  const rows = await db
    .selectFrom('namespaces as n')
    .select(['n.id', 'n.kind', 'n.full_path', 'n.parent_id', 'n.visibility', 'n.traversal_ids'])
    .select(effectiveLevel(userId, today).as('access_level'))
    .where('n.id', 'in', [...new Set(ids)])
    .execute()
  return new Map(rows.map((r) => [r.id, r]))
}

export interface Reach {
  selectedIds: number[]
  allMemberships: boolean
  personalProjects: boolean
}

export const reachesNothing = (reach: Reach) => !reach.allMemberships && !reach.personalProjects && reach.selectedIds.length === 0

/**
 * The groups and projects (namespace `n`) a set of scopes reaches for its owner: in scope (selected
 * namespace or below it, any membership, or the personal namespace) and where the owner has access.
 */
export function reachCondition(userId: number, reach: Reach, today: string) {
  const ors = []
  if (reach.selectedIds.length > 0) ors.push(sql<boolean>`n.traversal_ids && ${sql.val(reach.selectedIds)}::bigint[]`)
  if (reach.allMemberships) {
    ors.push(sql<boolean>`exists (select 1 from memberships m where m.user_id = ${userId} and m.namespace_id = any(n.traversal_ids)
      and (m.expires_at is null or m.expires_at > ${today}::date))`)
  }
  if (reach.personalProjects) {
    ors.push(sql<boolean>`n.kind = 'project' and exists (select 1 from namespaces r where r.id = n.traversal_ids[1] and r.kind = 'user' and r.owner_id = ${userId})`)
  }
  return sql<boolean>`n.kind <> 'user' and (${sql.join(ors, sql` or `)}) and ${effectiveLevel(userId, today)} is not null`
}

/** What a set of scopes reaches (see reachCondition), by path, at most `limit`: the preview's list. */
export async function reachableNamespaces(db: Q, userId: number, reach: Reach, today: string, limit: number): Promise<NamespaceAccess[]> {
  if (reachesNothing(reach)) return []
  return db
    .selectFrom('namespaces as n')
    .select(['n.id', 'n.kind', 'n.full_path', 'n.parent_id', 'n.visibility', 'n.traversal_ids'])
    .select(effectiveLevel(userId, today).as('access_level'))
    .where(reachCondition(userId, reach, today))
    .orderBy('n.full_path')
    .limit(limit)
    .execute()
}

export interface TokenListFilters {
  userId?: number
  state?: 'active' | 'inactive'
  revoked?: boolean
  search?: string
  kind?: 'fine_grained' | 'legacy'
  createdAfter?: Date
  createdBefore?: Date
  lastUsedAfter?: Date
  lastUsedBefore?: Date
  expiresAfter?: string
  expiresBefore?: string
}

const SORTS = {
  created_desc: ['created_at', 'desc'],
  created_asc: ['created_at', 'asc'],
  expires_asc: ['expires_at', 'asc'],
  expires_desc: ['expires_at', 'desc'],
  last_used_desc: ['last_used_at', 'desc'],
  last_used_asc: ['last_used_at', 'asc'],
  name_asc: ['name', 'asc'],
  name_desc: ['name', 'desc'],
} as const
export type TokenSort = keyof typeof SORTS
export const TOKEN_SORTS = Object.keys(SORTS) as TokenSort[]

export async function listTokens(db: Q, f: TokenListFilters, today: string, sort: TokenSort, page: number, perPage: number) {
  let q = db.selectFrom('personal_access_tokens')
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId)
  if (f.revoked !== undefined) q = q.where('revoked_at', f.revoked ? 'is not' : 'is', null)
  if (f.state === 'active') {
    q = q.where('revoked_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', today)]))
  }
  if (f.state === 'inactive') {
    q = q.where((eb) => eb.or([eb('revoked_at', 'is not', null), eb('expires_at', '<=', today)]))
  }
  if (f.search) q = q.where('name', 'ilike', `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
  if (f.kind) q = q.where('kind', '=', f.kind)
  if (f.createdAfter) q = q.where('created_at', '>=', f.createdAfter)
  if (f.createdBefore) q = q.where('created_at', '<', f.createdBefore)
  if (f.lastUsedAfter) q = q.where('last_used_at', '>=', f.lastUsedAfter)
  if (f.lastUsedBefore) q = q.where('last_used_at', '<', f.lastUsedBefore)
  if (f.expiresAfter) q = q.where('expires_at', '>=', f.expiresAfter)
  if (f.expiresBefore) q = q.where('expires_at', '<', f.expiresBefore)
  const [column, direction] = SORTS[sort]
  const [{ total }, rows] = await Promise.all([
    q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    q
      .selectAll()
      .orderBy(column, (ob) => (direction === 'asc' ? ob.asc() : ob.desc()).nullsLast())
      .orderBy('id', direction)
      .limit(perPage)
      .offset((page - 1) * perPage)
      .execute(),
  ])
  return { total: Number(total), rows }
}

export async function findUser(db: Q, id: number) {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Per-permission totals of a token's recorded use since a day. */
export async function usageSince(db: Q, tokenId: number, since: string) {
  return db
    .selectFrom('token_usage_daily')
    .select(['permission'])
    .select((eb) => [
      eb.fn.sum<number>('allowed').as('allowed'),
      eb.fn.sum<number>('denied').as('denied'),
      eb.fn.max('day').as('last_day'),
    ])
    .where('token_id', '=', tokenId)
    .where('day', '>=', since)
    .groupBy('permission')
    .orderBy('permission')
    .execute()
}
