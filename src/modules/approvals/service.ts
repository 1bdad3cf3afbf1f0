// Approval of tokens that reach a group (GitHub's fine-grained PAT requests). A top-level group
// whose policy sets require_approval gets a pending request, in the same transaction, whenever a
// token gains reach into it (creation, duplication, an edit that widens it to the group); until an
// owner approves, decisions on the group's resources deny with approval_pending (domain/decide.ts,
// fed by the token's cached entry). Rotation moves the requests to the successor, so an approval
// (or a pending request) survives it. Tokens that reached the group before the policy was switched
// on have no request and are not affected; switching the policy off lifts every pending deny.
import type { Caller } from '../../auth/caller.js'
import { actorOf } from '../../auth/caller.js'
import type { CacheKey } from '../../cache/policy-cache.js'
import type { Db, Trx } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import type { Clock } from '../../domain/dates.js'
import { AppError, notFound } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { manageableTopLevelGroup } from '../policies/access.js'
import * as repo from './repository.js'

/** Days a request stays pending before it lapses (the sweep marks it expired and mails the requester). */
export const APPROVAL_REQUEST_DAYS = 30

export const TARGET = 'personal_access_token'
const actorString = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`
const tokenFacts = (t: Pick<TokenRow, 'user_id' | 'name' | 'token_hint'>) => ({ user_id: t.user_id, name: t.name, token_hint: t.token_hint })

/**
 * Pending requests for the groups a token now reaches that require approval; idempotent per
 * (token, group). One token.approval_requested event per new request: it mails the group's owners.
 */
export async function openApprovalRequests(
  trx: Trx, token: TokenRow, groups: { groupId: number; fullPath: string }[], reason: string | null, ctx: AuditContext, now: Date,
): Promise<number> {
  const expiresAt = new Date(now.getTime() + APPROVAL_REQUEST_DAYS * 86_400_000)
  const created = await repo.insertPending(trx, token.id, groups.map((g) => g.groupId), reason, expiresAt)
  for (const r of created) {
    const fullPath = groups.find((g) => g.groupId === Number(r.group_id))?.fullPath
    await recordAuditEvent(trx, audit(ctx, 'token.approval_requested', { type: TARGET, id: token.id }, {
      ...tokenFacts(token), request_id: Number(r.id), group_id: Number(r.group_id), full_path: fullPath, reason, expires_at: r.expires_at.toISOString(),
    }, Number(r.group_id)))
  }
  return created.length
}

/** Rotation: the approval state follows the token to its successor. */
export const carryApprovals = (trx: Trx, fromId: number, toId: number) => repo.moveToSuccessor(trx, fromId, toId)

/**
 * Conversion: the fine-grained successor inherits the legacy token's requests as they stand (a
 * pending or denied one stays so; an approval holds), so converting never bypasses an owner.
 */
export const copyApprovals = (trx: Trx, fromId: number, toId: number) => repo.copyToSuccessor(trx, fromId, toId)

const present = (r: repo.RequestListRow, fullPath: string) => ({
  id: Number(r.id),
  group_id: Number(r.group_id),
  full_path: fullPath,
  state: r.state,
  reason: r.reason,
  token: { id: Number(r.token_id), name: r.token_name, token_hint: r.token_hint, revoked: r.revoked_at !== null, expires_at: r.token_expires_at },
  requester: { id: Number(r.user_id), username: r.username, name: r.user_name },
  created_at: r.created_at.toISOString(),
  expires_at: r.expires_at.toISOString(),
  decided_by: r.decided_by,
  decided_at: r.decided_at?.toISOString() ?? null,
  comment: r.comment,
})

export interface ApprovalDeps {
  db: Db
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
}

export function createApprovalService(deps: ApprovalDeps) {
  const { db, clock } = deps

  /** Owners of the top-level group and administrators; 404 to anyone else (as the group inventory). */
  const topLevelGroup = (caller: Caller, groupId: number, permission: string) =>
    manageableTopLevelGroup(db, caller, groupId, clock(), permission, { living: 'Approval requests', route: 'personal_access_token_requests', subject: 'requests', verb: 'apply' })

  async function list(caller: Caller, groupId: number, q: { state?: repo.ApprovalState; page?: number; per_page?: number }) {
    const group = await topLevelGroup(caller, groupId, 'read_group_access_token')
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const { total, rows } = await repo.listForGroup(db, group.id, q.state, page, perPage)
    return { total, page, perPage, items: rows.map((r) => present(r, group.full_path)) }
  }

  async function settle(caller: Caller, groupId: number, requestId: number, outcome: 'approved' | 'denied', comment: string | undefined, ctx: AuditContext) {
    const group = await topLevelGroup(caller, groupId, 'revoke_group_access_token')
    const decided = await db.transaction().execute(async (trx) => {
      const request = await repo.lockRequest(trx, group.id, requestId)
      if (!request) throw notFound(`Approval request ${requestId}`)
      if (request.state === outcome) return undefined // the same decision again: a no-op, as revoking twice
      if (request.state !== 'pending') {
        throw new AppError(409, 'request_already_decided', `Approval request ${requestId} is ${request.state}; only pending requests can be ${outcome}. ` +
          (request.state === 'expired' ? 'The token\'s owner can duplicate the token to request approval again' : 'A decided request stays decided'))
      }
      const row = await repo.setState(trx, request.id, outcome, actorString(caller), comment ?? null, clock())
      const token = await trx.selectFrom('personal_access_tokens').selectAll().where('id', '=', Number(row.token_id)).executeTakeFirstOrThrow()
      await recordAuditEvent(trx, audit(ctx, `token.approval_${outcome}`, { type: TARGET, id: token.id }, {
        ...tokenFacts(token), request_id: Number(row.id), group_id: group.id, full_path: group.full_path, ...(comment ? { comment } : {}),
      }, group.id))
      return token
    })
    // The token's version moved (trigger, migration 0011): every instance drops its old entry now.
    if (decided) await deps.invalidate([{ kind: 'tok', digest: decided.token_digest }])
    const shown = await repo.findListRow(db, group.id, requestId)
    if (!shown) throw notFound(`Approval request ${requestId}`)
    return present(shown, group.full_path)
  }

  return {
    list,
    approve: (caller: Caller, groupId: number, requestId: number, comment: string | undefined, ctx: AuditContext) => settle(caller, groupId, requestId, 'approved', comment, ctx),
    deny: (caller: Caller, groupId: number, requestId: number, comment: string | undefined, ctx: AuditContext) => settle(caller, groupId, requestId, 'denied', comment, ctx),
  }
}

export type ApprovalService = ReturnType<typeof createApprovalService>

/** The sweep: pending requests past their time become expired (one event each, mailing the requester). */
export async function expireLapsedRequests(deps: ApprovalDeps & { signal?: AbortSignal }, batch = 500): Promise<number> {
  let total = 0
  for (;;) {
    if (deps.signal?.aborted) return total
    const lapsed = await deps.db.transaction().execute(async (trx) => {
      const rows = await repo.lockLapsed(trx, deps.clock(), batch)
      for (const r of rows) {
        await repo.setState(trx, r.id, 'expired', null, null, deps.clock())
        await recordAuditEvent(trx, {
          actor: { type: 'system', id: 'approval_expiry' }, ip: null, requestId: null, action: 'token.approval_expired', target: { type: TARGET, id: r.token_id },
          details: { user_id: r.user_id, name: r.name, token_hint: r.token_hint, request_id: r.id, group_id: r.group_id, full_path: r.full_path }, namespaceId: r.group_id,
        })
      }
      return rows
    })
    // An expired request still denies (approval_pending); the entry's version moved all the same.
    if (lapsed.length > 0) await deps.invalidate(lapsed.map((r) => ({ kind: 'tok' as const, digest: r.token_digest })))
    total += lapsed.length
    if (lapsed.length < batch) return total
  }
}
