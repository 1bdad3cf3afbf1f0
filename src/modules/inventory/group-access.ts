// "Remove this group's access": what a group owner may do to a token that reaches the group short of
// revoking it (GitHub lets an organization owner do the same). The token keeps working elsewhere;
// every decision on the group and everything below it denies with `access_removed_by_group`
// (domain/decide.ts). Restoring takes the removal back. Both are idempotent: a second call changes
// nothing and records nothing.
import { actorOf, type Caller, callerUser } from '../../auth/caller.js'
import type { CacheKey } from '../../cache/policy-cache.js'
import type { Db } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { type Clock, tokenState } from '../../domain/dates.js'
import { AppError, notFound } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import type { ManagedGroup } from '../policies/access.js'
import { deleteRemoval, findRemoval, insertRemoval, removalsOf } from '../tokens/removals.js'
import { lockToken } from '../tokens/repository.js'
import type { GroupAccessRemovalBody } from '../tokens/schemas.js'
import { TARGET, tokenAuditDetails, tokenKeys } from '../tokens/service.js'

export interface GroupAccessDeps {
  db: Db
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
  /** The token, when it reaches the group and the caller manages the group (inventory service); 404 otherwise. */
  reachableToken: (caller: Caller, groupId: number, tokenId: number, permission: string) => Promise<{ row: TokenRow; group: ManagedGroup }>
}

// A PAT acting for a group owner needs the group permission closest to this: revoking is the
// stronger form of the same decision.
const PERMISSION = 'revoke_group_access_token'

export function createGroupAccessService(deps: GroupAccessDeps) {
  const { db, clock } = deps

  async function shown(tokenId: number, group: ManagedGroup): Promise<GroupAccessRemovalBody> {
    const removal = (await removalsOf(db, [tokenId], { group })).get(tokenId)?.find((r) => r.group_id === group.id)
    if (!removal) throw notFound(`Personal access token ${tokenId}`) // restored in between
    return removal
  }

  /** `created` false: the access was already removed; the answer is that removal, unchanged. */
  async function remove(caller: Caller, groupId: number, tokenId: number, reason: string | undefined, ctx: AuditContext) {
    const { row, group } = await deps.reachableToken(caller, groupId, tokenId, PERMISSION)
    const why = reason?.trim() || null
    const outcome = await db.transaction().execute(async (trx) => {
      // Locked: a rotation or duplicate of this token in flight either copies the removal or is
      // waited for (removals.copyRemovals), and two removals in a race record one event.
      const token = await lockToken(trx, row.id)
      if (!token) throw notFound(`Personal access token ${tokenId}`)
      if (await findRemoval(trx, token.id, group.id)) return { created: false, token }
      const state = tokenState(token, clock())
      if (state !== 'active') {
        const rotated = token.revoke_reason === 'rotated' ? ': it was rotated, remove the access of its successor instead' : ''
        throw new AppError(400, `token_${state}`, `Token ${token.id} is ${state}; there is no access left to remove${rotated}`)
      }
      const actor = actorOf(caller)
      await insertRemoval(trx, {
        token_id: token.id, group_id: group.id, removed_by: `${actor.type}:${actor.id}`, removed_by_user_id: callerUser(caller)?.id ?? null, reason: why, removed_at: clock(),
      })
      await recordAuditEvent(trx, audit(ctx, 'token.group_access_removed', { type: TARGET, id: token.id }, tokenAuditDetails(token, { group_id: group.id, full_path: group.full_path, reason: why }), group.id))
      return { created: true, token }
    })
    if (outcome.created) await deps.invalidate(tokenKeys([outcome.token]))
    return { created: outcome.created, removal: await shown(outcome.token.id, group) }
  }

  /** Takes a removal back; without one, nothing happens (and nothing is recorded). */
  async function restore(caller: Caller, groupId: number, tokenId: number, ctx: AuditContext): Promise<void> {
    const { row, group } = await deps.reachableToken(caller, groupId, tokenId, PERMISSION)
    const restored = await db.transaction().execute(async (trx) => {
      const token = await lockToken(trx, row.id)
      if (!token) throw notFound(`Personal access token ${tokenId}`)
      const removed = await deleteRemoval(trx, token.id, group.id)
      if (!removed) return undefined
      await recordAuditEvent(trx, audit(ctx, 'token.group_access_restored', { type: TARGET, id: token.id }, tokenAuditDetails(token, {
        group_id: group.id, full_path: group.full_path, removed_by: removed.removed_by, removed_at: removed.removed_at.toISOString(),
      }), group.id))
      return token
    })
    if (restored) await deps.invalidate(tokenKeys([restored]))
  }

  return { remove, restore }
}

export type GroupAccessService = ReturnType<typeof createGroupAccessService>
