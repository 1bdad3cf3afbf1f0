// Changes to an existing token: rotate (new secret, same everything else, old one revoked), duplicate
// (a new token with the same permissions and reach) and edit (same secret, new name/expiry/scopes).
import { actorOf, type Caller } from '../../auth/caller.js'
import type { TokenRow } from '../../db/types.js'
import { addDays, tokenState, utcDate } from '../../domain/dates.js'
import { expandPermissions } from '../../domain/permissions/index.js'
import { presentScopes, type StoredScope } from '../../domain/scopes.js'
import { AppError } from '../../http/errors.js'
import { openApprovalRequests } from '../approvals/service.js'
import { alsoConcerns, type AuditContext, audit, recordAuditEvent, tokenGroups } from '../audit/service.js'
import { selfToken, visibleToken } from './access.js'
import { presentToken } from './present.js'
import * as repo from './repository.js'
import type { DuplicateInput, UpdateTokenInput } from './schemas.js'
import {
  issueToken, newTokenColumns, requireName, type TokenRef, requireWithinCaller, TARGET, type TokenDeps, tokenAuditDetails, tokenKeys,
  admitNewToken,
} from './service.js'
import { recordReuse } from './reuse.js'
import { type RequestedScopes, requireValidScopes } from './validation.js'

/** The answer to a rotation retried within the leeway (by the same caller, or with the same secret): nothing changes. */
export function alreadyRotated(tokenId: number, rotatedAt: Date, now: Date, successorId: number | undefined): AppError {
  const ago = Math.max(0, Math.round((now.getTime() - rotatedAt.getTime()) / 1000))
  return new AppError(409, 'already_rotated', `Token ${tokenId} was rotated ${ago} s ago by this same caller: this request is taken as a retry and changes nothing. ` +
    `Its successor is token ${successorId}, whose secret the first rotation returned`, undefined, { successor_id: successorId })
}

const actorString = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

function requireActive(token: TokenRow, now: Date, action: string) {
  const state = tokenState(token, now)
  if (state !== 'active') throw new AppError(400, `token_${state}`, `Token ${token.id} is ${state} and cannot be ${action}`)
}

/**
 * The expiry-notice bookkeeping for a new expiry date: every window (60/30/7 days, expired) the
 * new date has not reached yet is cleared, so an extended token gets those notices again. Windows
 * already reached keep their state: a notice sent for them is not repeated.
 */
function noticesToReset(expiresAt: string | null, today: string): Partial<Record<'expiry_notice_60_at' | 'expiry_notice_30_at' | 'expiry_notice_7_at' | 'expired_notice_at', null>> {
  const beyond = (days: number) => expiresAt === null || expiresAt > addDays(today, days)
  return {
    ...(beyond(60) ? { expiry_notice_60_at: null } : {}),
    ...(beyond(30) ? { expiry_notice_30_at: null } : {}),
    ...(beyond(7) ? { expiry_notice_7_at: null } : {}),
    ...(beyond(0) ? { expired_notice_at: null } : {}),
  }
}

async function storedScopesOf(deps: TokenDeps, tokenId: number): Promise<StoredScope[]> {
  const rows = (await repo.scopesOf(deps.db, [tokenId])).get(tokenId) ?? []
  return rows.map((r) => ({ access: r.access, namespace_id: r.namespace_id, permissions: r.permissions }))
}

export interface UpdateOptions {
  expectedVersion?: number
  auditDetails?: Record<string, unknown>
}

export function createLifecycleService(deps: TokenDeps) {
  const { db, clock } = deps

  /** A rotation of an already rotated token by the caller that rotated it, within the leeway. */
  function isRetry(rotatedAt: Date, rotatedBy: string | null, caller: Caller): boolean {
    return rotatedBy === actorString(caller) && clock().getTime() - rotatedAt.getTime() <= deps.config.rotationRetryLeewayMs
  }

  async function rotate(caller: Caller, id: TokenRef, expiresAt: string | null | undefined, ctx: AuditContext) {
    const visible = typeof id === 'object' ? id.row : id === 'self' ? selfToken(caller) : await visibleToken(db, caller, id)
    const outcome = await db.transaction().execute(async (trx) => {
      const old = await repo.lockInFamily(trx, visible) // the family first: see repo.lockInFamily
      if (!old) throw new AppError(404, 'not_found', `Personal access token ${visible.id} not found`)
      if (old.revoked_at && old.revoke_reason === 'rotated') {
        if (isRetry(old.revoked_at, old.revoked_by, caller)) {
          // The same caller again, moments later: a double click, or a client retrying after a lost
          // response (concurrent requests queue on the row lock and land here). Not a leak.
          return { retry: true as const, rotatedAt: old.revoked_at, successorId: (await repo.successorOf(trx, old))?.id }
        }
        // A rotated-away token rotated again by someone else, or later: reuse, as when its secret
        // is presented (reuse.ts). By policy the whole family is revoked (as GitLab does).
        const reuse = await recordReuse(trx, deps, old, { tokenId: old.id, ip: ctx.ip, via: 'rotate', requestId: ctx.requestId, actor: ctx.actor })
        return { reused: true as const, response: reuse.response, revokedIds: reuse.revoked.map((r) => r.id), changed: reuse.revoked }
      }
      requireActive(old, clock(), 'rotated')
      if (old.conversion_grace_ends_at) {
        // Rotating would issue a new legacy token that escapes the revocation the conversion scheduled.
        throw new AppError(409, 'token_being_converted', `Legacy token ${old.id} was converted to a fine-grained token and is revoked at ` +
          `${old.conversion_grace_ends_at.toISOString()}; rotating it would make a new legacy token. Use its fine-grained successor instead`)
      }
      const stored = await storedScopesOf(deps, old.id)
      const newExpiry = await deps.policies.enforce(
        { ownerId: old.user_id, kind: old.kind, legacyScopes: old.scopes, stored },
        { requested: expiresAt, useDefault: false, carryFrom: old },
      )
      const owner = await repo.findUser(trx, old.user_id)
      if (!owner) throw new AppError(404, 'not_found', 'Token owner not found')
      const { columns, secret } = await newTokenColumns(deps, {
        owner, name: old.name, description: old.description, kind: old.kind, legacyScopes: old.scopes,
        stored, expiresAt: newExpiry, createdBy: actorString(caller), templateId: old.template_id,
      })
      // The successor, the removals and approvals it inherits, the old token revoked and the audit
      // event: one statement (repo.rotateToken) where these were seven.
      const details = tokenAuditDetails(columns, { previous_personal_access_token_id: old.id, previous_token_hint: old.token_hint })
      const { successor: row, revoked: oldRevoked } = await repo.rotateToken(
        trx, old.id, old.family_id ?? old.id, { revoked_at: clock(), revoked_by: actorString(caller) },
        columns, old.kind === 'fine_grained' ? stored : [], ctx, details,
      )
      return { reused: false as const, row, secret, changed: [oldRevoked, row] }
    })
    if (outcome.retry) throw alreadyRotated(visible.id, outcome.rotatedAt, clock(), outcome.successorId)
    await deps.invalidate(tokenKeys(outcome.changed))
    if (outcome.reused) {
      const effect = outcome.response === 'notify'
        ? 'the owner was alerted; policy (reuse_detection: notify) leaves the rest of its rotation chain active'
        : outcome.response === 'revoke_family'
          ? `reusing it revoked every token in its rotation chain (${outcome.revokedIds.length} active)`
          : 'its reuse was already recorded moments ago'
      throw new AppError(400, 'token_reused', `Token ${visible.id} was already rotated; ${effect}`)
    }
    return presentToken(db, outcome.row, clock(), { token: outcome.secret })
  }

  /**
   * A new token from an existing one: by default the same permissions and reach, re-checked against
   * today's directory and policy. `scopes` / `granular_scopes` replace the copy's scopes (validated
   * as on creation): the brief's pre-filled generate form, and the way from a legacy token to a
   * fine-grained one (the original keeps working until its owner revokes it).
   */
  async function duplicate(caller: Caller, id: number, input: DuplicateInput, ctx: AuditContext) {
    const original = await visibleToken(db, caller, id)
    const owner = await repo.findUser(db, original.user_id)
    if (!owner || owner.state !== 'active') throw new AppError(400, 'user_inactive', 'The token owner is not active')
    const today = utcDate(clock())
    const name = requireName(input.name ?? `${original.name} (copy)`.slice(0, 255))
    const overridden = input.scopes !== undefined || input.granular_scopes !== undefined
    let requested: RequestedScopes
    if (overridden) requested = { scopes: input.scopes, granular_scopes: input.granular_scopes }
    else if (original.kind === 'legacy') requested = { scopes: original.scopes }
    else {
      // Re-checked against today's directory: the owner may have left a group since.
      const stored = await storedScopesOf(deps, original.id)
      const kinds = await repo.namespaceKinds(db, stored.flatMap((s) => (s.namespace_id ? [s.namespace_id] : [])))
      requested = { granular_scopes: presentScopes(stored, (nsId) => kinds.get(nsId)) }
    }
    const scopes = await requireValidScopes(db, owner, requested, today)
    requireWithinCaller(caller, scopes)
    const { expiresAt, approval } = await admitNewToken(
      deps, { ownerId: owner.id, kind: scopes.kind, legacyScopes: scopes.legacyScopes, stored: scopes.stored },
      { requested: input.expires_at, useDefault: true, carryFrom: original }, ctx, input.approval_reason ?? null,
    )
    const lineage = {
      duplicated_from_id: original.id,
      ...(overridden ? { scopes_changed: true } : {}),
      ...(original.kind === 'legacy' && scopes.kind === 'fine_grained' ? { converted_from_legacy: true } : {}),
    }
    const { row, secret } = await db.transaction().execute(async (trx) => {
      const issued = await issueToken(trx, deps, {
        owner, name, description: input.description === undefined ? original.description : input.description,
        kind: scopes.kind, legacyScopes: scopes.legacyScopes, stored: scopes.stored, expiresAt,
        createdBy: actorString(caller), duplicatedFromId: original.id, templateId: overridden ? null : original.template_id,
        approval,
      })
      await recordAuditEvent(trx, audit(ctx, 'token.created', { type: TARGET, id: issued.row.id }, tokenAuditDetails(issued.row, lineage)))
      return issued
    })
    await deps.invalidate(tokenKeys([row]))
    return presentToken(db, row, clock(), { token: secret, warnings: [...new Set(scopes.warnings)] })
  }

  /**
   * `options.expectedVersion`: refuse (409 stale_version) when the token changed since the caller read it
   * (checked under the row lock); `options.auditDetails`: added to the token.updated event (e.g. the
   * recommendation an edit came from).
   */
  async function update(caller: Caller, id: number, input: UpdateTokenInput, ctx: AuditContext, options: UpdateOptions = {}) {
    const visible = await visibleToken(db, caller, id)
    requireActive(visible, clock(), 'edited')
    const changes: Record<string, unknown> = {}
    const set: Parameters<typeof repo.updateToken>[2] = {}
    if (input.name !== undefined) {
      const name = requireName(input.name)
      if (name !== visible.name) (set.name = name), (changes.name = { from: visible.name, to: name })
    }
    if (input.description !== undefined && input.description !== visible.description) {
      set.description = input.description
      changes.description = { from: visible.description, to: input.description }
    }
    const expiryChanged = input.expires_at !== undefined && input.expires_at !== visible.expires_at
    let newScopes: StoredScope[] | undefined
    let warnings: string[] = []
    if (input.granular_scopes !== undefined) {
      if (visible.kind === 'legacy') {
        throw new AppError(400, 'legacy_scopes_immutable', 'body.granular_scopes: a legacy token\'s scopes cannot be edited; duplicate it as a fine-grained token instead', [
          { path: 'body.granular_scopes', message: 'legacy tokens cannot take granular scopes' },
        ])
      }
      const owner = await repo.findUser(db, visible.user_id)
      if (!owner) throw new AppError(404, 'not_found', 'Token owner not found')
      const scopes = await requireValidScopes(db, owner, { granular_scopes: input.granular_scopes }, utcDate(clock()))
      requireWithinCaller(caller, scopes)
      warnings = [...new Set(scopes.warnings)]
      const before = expandPermissions((await storedScopesOf(deps, visible.id)).flatMap((s) => s.permissions))
      const after = expandPermissions(scopes.stored.flatMap((s) => s.permissions))
      newScopes = scopes.stored
      changes.granular_scopes = {
        permissions_added: [...after].filter((p) => !before.has(p)).sort(),
        permissions_removed: [...before].filter((p) => !after.has(p)).sort(),
      }
    }
    // Groups the edit newly reaches that require approval: asked for in the transaction below.
    let approvalGroups: Awaited<ReturnType<typeof deps.policies.approvalGroups>> = []
    if (newScopes) {
      const token = { ownerId: visible.user_id, kind: visible.kind, legacyScopes: visible.scopes }
      const before = new Set((await deps.policies.approvalGroups({ ...token, stored: await storedScopesOf(deps, visible.id) })).map((g) => g.groupId))
      approvalGroups = (await deps.policies.approvalGroups({ ...token, stored: newScopes })).filter((g) => !before.has(g.groupId))
    }
    if (expiryChanged || newScopes) {
      // Policy judges the token as it would be after the edit: its (new) reach and (new) expiry.
      const expiresAt = await deps.policies.enforce(
        { ownerId: visible.user_id, kind: visible.kind, legacyScopes: visible.scopes, stored: newScopes ?? (await storedScopesOf(deps, visible.id)) },
        { requested: expiryChanged ? input.expires_at : visible.expires_at, useDefault: false },
      )
      if (expiryChanged) {
        set.expires_at = expiresAt
        changes.expires_at = { from: visible.expires_at, to: expiresAt }
        Object.assign(set, noticesToReset(expiresAt, utcDate(clock())))
      }
    }
    const row = await db.transaction().execute(async (trx) => {
      const locked = await repo.lockToken(trx, visible.id)
      if (!locked) throw new AppError(404, 'not_found', `Personal access token ${visible.id} not found`)
      requireActive(locked, clock(), 'edited')
      if (options.expectedVersion !== undefined && Number(locked.version) !== options.expectedVersion) {
        throw new AppError(409, 'stale_version', `Token ${locked.id} changed since version ${options.expectedVersion} (it is at version ${locked.version}): read it again and retry`)
      }
      if (Object.keys(changes).length === 0) return locked
      // The groups it reached before the change see it too (the event is tagged with its reach after).
      const reachedBefore = newScopes ? await tokenGroups(trx, locked.id) : []
      if (newScopes) await repo.replaceScopes(trx, locked.id, newScopes)
      const updated = await repo.updateToken(trx, locked.id, set)
      const eventId = await recordAuditEvent(trx, audit(ctx, 'token.updated', { type: TARGET, id: updated.id }, tokenAuditDetails(updated, { changes, ...options.auditDetails })))
      await alsoConcerns(trx, eventId, reachedBefore)
      await openApprovalRequests(trx, updated, approvalGroups, input.approval_reason ?? null, ctx, clock())
      return updated
    })
    await deps.invalidate(tokenKeys([row]))
    return presentToken(db, row, clock(), { warnings })
  }

  return { rotate, duplicate, update }
}

export type LifecycleService = ReturnType<typeof createLifecycleService>
