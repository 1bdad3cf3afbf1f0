// The credential inventory: administrators see every token; owners of a group see the tokens that
// can reach it (selected scopes on it, below it or above it; broad tokens of members of any of
// those) and may remove the group's access (group-access.ts). They may revoke only the tokens that
// reach the group directly (scoped on it or below, or of its members): revoking a token that reaches
// it only through a group above would also end its access there, which is not theirs to decide.
// They never rotate: a rotation returns the new secret, and nobody but a token's owner receives
// it. Page, summary and CSV export share one filter (repository.inventoryWhere).
import { type Caller } from '../../auth/caller.js'
import type { Db } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { parseTimestamp } from '../../domain/calendar.js'
import { addDays, type Clock, tokenState, utcDate } from '../../domain/dates.js'
import { getPermission, LEGACY_SCOPES, legacyScopePermissions } from '../../domain/permissions/index.js'
import { AppError, invalidField, notFound } from '../../http/errors.js'
import type { AuditContext } from '../audit/service.js'
import { type ManagedGroup, manageableGroup } from '../policies/access.js'
import { isAdminCaller } from '../tokens/access.js'
import { presentTokens } from '../tokens/present.js'
import * as repo from './repository.js'
import type { InventoryQueryInput } from './schemas.js'
import { summarizeInventory } from './summary.js'

export interface InventoryDeps {
  db: Db
  clock: Clock
  /** The token service's revoke, once the inventory has decided the caller may act (namespaceId: the group, for its audit log). */
  revokeToken: (caller: Caller, token: TokenRow, ctx: AuditContext, reason: string, namespaceId: number, comment?: string) => Promise<void>
}

/** A group owner asking to rotate: refused, with what to do instead (the route stays, so old clients learn why). */
// The same answer whoever asks and whether or not the group or token exists: it tells nothing.
export const groupOwnerRotateRefused = (groupId: number, tokenId: number) => new AppError(
  403,
  'group_owner_cannot_rotate',
  'Group owners cannot rotate the tokens of others: a rotation returns the new secret, and only the token\'s owner may hold it. ' +
    `Instead, revoke the token (DELETE /api/v4/groups/${groupId}/manage/personal_access_tokens/${tokenId}) or remove this group's access to it, ` +
    `which leaves it working elsewhere (POST /api/v4/groups/${groupId}/manage/personal_access_tokens/${tokenId}/remove_access). ` +
    `The token's owner rotates it (POST /api/v4/personal_access_tokens/${tokenId}/rotate); administrators can too.`,
)

/** A group owner revoking a token that reaches the group only through a group above it. */
const inheritedRevokeRefused = (group: ManagedGroup, tokenId: number) => new AppError(
  403,
  'group_owner_cannot_revoke_inherited',
  `Token ${tokenId} reaches ${group.full_path} only through a group above it; revoking it would also end its access there, ` +
    'which this group\'s owners do not control. Instead, remove this group\'s access to it, which leaves it working elsewhere ' +
    `(POST /api/v4/groups/${group.id}/manage/personal_access_tokens/${tokenId}/remove_access). ` +
    'The owners of the group above it can revoke it from that group\'s inventory, ' +
    `administrators through DELETE /api/v4/personal_access_tokens/${tokenId}.`,
)

// A name a spreadsheet would read as a formula (=, +, -, @) is prefixed with ' (CSV injection).
const cell = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value)

// owner_kind came last (issue 16, service accounts): appended, so consumers that read the export
// by column position keep working.
export const CSV_COLUMNS = ['id', 'user_id', 'name', 'kind', 'state', 'scopes', 'permissions', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'revoke_reason', 'token_hint', 'owner_kind'] as const

export function createInventoryService(deps: InventoryDeps) {
  const { db, clock } = deps
  const today = () => utcDate(clock())

  function filters(q: InventoryQueryInput): repo.InventoryFilters {
    let permission: repo.InventoryFilters['permission']
    if (q.permission !== undefined) {
      if (!getPermission(q.permission)) throw invalidField('query.permission', `unknown permission "${q.permission}" (see GET /api/v4/permissions)`, 'unknown_permission')
      permission = { name: q.permission, legacyScopes: LEGACY_SCOPES.map((s) => s.name).filter((s) => legacyScopePermissions(s)?.has(q.permission!)) }
    }
    let lastUsedBefore: Date | undefined
    if (q.last_used_before !== undefined) {
      lastUsedBefore = parseTimestamp(q.last_used_before)
      if (lastUsedBefore === undefined) throw invalidField('query.last_used_before', 'is not an ISO 8601 date or date-time')
    }
    return { userId: q.user_id, kind: q.kind, state: q.state, expiresBefore: q.expires_before, lastUsedBefore, neverUsed: q.never_used, permission, search: q.search || undefined }
  }

  /** Who may see which part of the inventory: all of it (admins) or one group's reach (its owners). */
  async function scope(caller: Caller, groupId: number | undefined, q: InventoryQueryInput, permission = 'read_group_access_token'): Promise<repo.InventoryFilters & { group?: ManagedGroup }> {
    const f: repo.InventoryFilters & { group?: ManagedGroup } = filters(q)
    if (groupId === undefined) {
      if (!isAdminCaller(caller)) throw new AppError(403, 'admin_required', 'The credential inventory is for administrators; group owners use /groups/:id/manage/personal_access_tokens')
    } else {
      f.group = await manageableGroup(db, caller, groupId, clock(), permission)
      f.groupId = f.group.id
    }
    if (q.namespace_id !== undefined) {
      const ns = await db.selectFrom('namespaces').select('traversal_ids').where('id', '=', q.namespace_id).executeTakeFirst()
      f.reachesTraversal = ns?.traversal_ids ?? [-1]
    }
    return f
  }

  async function list(caller: Caller, groupId: number | undefined, q: InventoryQueryInput) {
    const f = await scope(caller, groupId, q)
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const { total, hasNext, rows } = await repo.listInventory(db, f, today(), q.sort ?? 'created_desc', page, perPage)
    // The owner's kind and the reach column come with the rows (repo.listInventory).
    const presented = await presentTokens(db, rows, clock(), f.group && { group: f.group })
    // Added in place: copying each ~25-field body once or twice more showed in the page's profile.
    const items = presented.map((item, i) => Object.assign(item, {
      owner_kind: rows[i].owner_kind ?? 'human' as const,
      ...(f.group ? { reach: rows[i].reaches_directly ? 'direct' as const : 'inherited' as const } : {}),
    }))
    return { total, hasNext, page, perPage, items }
  }

  async function summary(caller: Caller, groupId: number | undefined, q: InventoryQueryInput) {
    const f = await scope(caller, groupId, q)
    const c = await summarizeInventory(db, f, today(), addDays(today(), 7), addDays(today(), 30))
    return {
      total: c.total,
      by_kind: { fine_grained: c.fine_grained, legacy: c.legacy },
      by_state: { active: c.active, revoked: c.revoked, expired: c.expired },
      expiring_within_7_days: c.expiring_7,
      expiring_within_30_days: c.expiring_30,
      never_used: c.never_used,
      legacy_with_api: c.legacy_with_api,
    }
  }

  /** CSV records, batch by batch (the route streams them through csv-stringify). */
  async function* csvRecords(f: repo.InventoryFilters): AsyncGenerator<string[]> {
    yield [...CSV_COLUMNS]
    const now = clock()
    for await (const rows of repo.inventoryBatches(db, f, today())) {
      const kinds = await repo.ownerKinds(db, rows.map((r) => r.user_id))
      for (const r of rows) {
        yield [
          String(r.id), String(r.user_id), cell(r.name), r.kind, tokenState(r, now), r.scopes.join(' '), r.permissions.join(' '), r.created_at.toISOString(),
          r.expires_at ?? '', r.last_used_at?.toISOString() ?? '', r.revoked_at?.toISOString() ?? '', r.revoke_reason ?? '', r.token_hint,
          kinds.get(r.user_id) ?? 'human',
        ]
      }
    }
  }

  async function csv(caller: Caller, groupId: number | undefined, q: InventoryQueryInput) {
    return csvRecords(await scope(caller, groupId, q))
  }

  /** A token in the group's reach, with the group, or 404 (the owner learns nothing about other tokens). */
  async function reachableToken(caller: Caller, groupId: number, tokenId: number, permission: string): Promise<{ row: TokenRow; group: ManagedGroup }> {
    const f = await scope(caller, groupId, {}, permission)
    const row = await db.selectFrom('personal_access_tokens').selectAll().where('id', '=', tokenId).where(repo.inventoryWhere(f, today())).executeTakeFirst()
    if (!row) throw notFound(`Personal access token ${tokenId}`)
    return { row, group: f.group! }
  }

  async function revoke(caller: Caller, groupId: number, tokenId: number, ctx: AuditContext, comment?: string) {
    // Revoking needs the revoke permission (a read-only group token may list, not revoke).
    const { row, group } = await reachableToken(caller, groupId, tokenId, 'revoke_group_access_token')
    // Only after reachableToken: a caller who may not see the token learns nothing from a 403.
    if (!(await repo.directlyReaching(db, group.id, [row.id])).has(row.id)) throw inheritedRevokeRefused(group, row.id)
    await deps.revokeToken(caller, row, ctx, 'group_owner', group.id, comment)
  }

  /** The report's access rule is the inventory's: all tokens for administrators, the group's reach for its owners. */
  const reportScope = (caller: Caller, groupId: number | undefined) => scope(caller, groupId, {})

  return { list, summary, csv, revoke, reachableToken, reportScope }
}

export type InventoryService = ReturnType<typeof createInventoryService>
