// The token lifecycle: create, list, show, revoke, rotate, duplicate, edit, preview. Each change runs
// in one transaction with its audit_events row; the secret is returned once and never stored.
import { actorOf, type Caller, callerUser } from '../../auth/caller.js'
import type { CacheKey } from '../../cache/policy-cache.js'
import type { Config } from '../../config.js'
import type { Db, Trx } from '../../db/index.js'
import type { TokenRow, UserRow } from '../../db/types.js'
import { parseTimestamp } from '../../domain/calendar.js'
import { addDays, type Clock, utcDate } from '../../domain/dates.js'
import { getPermission, isAdminOnlyLegacyScope, legacyScopePermissions } from '../../domain/permissions/index.js'
import { permissionsBeyond, type StoredScope } from '../../domain/scopes.js'
import { candidateDigests, digestToken, generateToken, isWellFormedToken, tokenHint } from '../../domain/token-format.js'
import { AppError, invalidField, notFound } from '../../http/errors.js'
import { carryApprovals, copyApprovals, openApprovalRequests } from '../approvals/service.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import type { ApprovalGroup, ExpiryRequest, GateToken, PolicyGate } from '../policies/gate.js'
import type { TemplateService } from '../templates/service.js'
import { isAdminCaller, selfToken, visibleToken } from './access.js'
import { presentToken, presentTokens } from './present.js'
import { copyRemovals } from './removals.js'
import * as repo from './repository.js'
import type { CreateTokenInput, ListQueryInput } from './schemas.js'
import { requireValidScopes, type ScopeValidation } from './validation.js'

export interface TokenDeps {
  db: Db
  config: Readonly<Config>
  clock: Clock
  /** After a committed change: the hot-path caches must drop the token's old state at once. */
  invalidate: (keys: CacheKey[]) => Promise<void>
  /** Instance and group policy: expiry, lifetime, legacy tokens, blocked permissions, token prefix. */
  policies: PolicyGate
  /** Resolves template_id on creation. */
  templates?: Pick<TemplateService, 'scopesForToken'>
}

/** A token the caller was already found allowed to act on (the group inventory decides that itself). */
export type TokenRef = number | 'self' | { row: TokenRow }

export const tokenKeys = (rows: { token_digest: Buffer }[]): CacheKey[] => rows.map((r) => ({ kind: 'tok', digest: r.token_digest }))

export const TARGET = 'personal_access_token'

/** A list filter's instant; the schema's `timestamp` format has checked it already, this is for other callers. */
function instant(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined
  const at = parseTimestamp(value)
  if (at === undefined) throw invalidField(`query.${field}`, 'is not an ISO 8601 date or date-time')
  return at
}

export function requireName(name: string): string {
  const trimmed = name.trim()
  if (!trimmed) throw invalidField('body.name', 'must not be blank')
  return trimmed
}

/** A token may only create tokens no broader than itself (by permission and by reach). */
export function requireWithinCaller(caller: Caller, scopes: ScopeValidation): void {
  if (caller.kind !== 'token') return
  const fail = (detail: string) => {
    throw new AppError(403, 'broader_than_caller', detail, [{ path: scopes.kind === 'legacy' ? 'body.scopes' : 'body.granular_scopes', message: detail }])
  }
  const own = caller.token
  if (own.kind === 'legacy') {
    // api covers every scope but GitLab's admin scopes (sudo, admin_mode): those only a token holding them may pass on.
    const covers = (s: string) => own.scopes.includes(s) || (own.scopes.includes('api') && !isAdminOnlyLegacyScope(s))
    // Under ADMIN_MODE a legacy token without admin_mode holds no administration permission to pass on.
    const adminLocked = caller.adminMode === true && !own.scopes.includes('admin_mode')
    const held = new Set(own.scopes.flatMap((s) => [...(legacyScopePermissions(s) ?? [])]).filter((p) => !(adminLocked && getPermission(p)?.requiresAdmin)))
    const wanted =
      scopes.kind === 'legacy'
        ? scopes.legacyScopes.filter((s) => !covers(s))
        : scopes.stored.flatMap((s) => s.permissions).filter((p) => !held.has(p))
    if (wanted.length > 0) fail(`The authenticating token cannot grant what it does not hold: ${[...new Set(wanted)].join(', ')}`)
    return
  }
  if (scopes.kind === 'legacy') fail('A fine-grained token cannot create a legacy token: legacy scopes are broader than any fine-grained token')
  const beyond = permissionsBeyond(caller.tokenScopes, scopes.stored, (id) => scopes.namespaces.get(id)?.traversal_ids ?? [id])
  if (beyond.length > 0) {
    const list = [...new Set(beyond.flatMap((b) => b.permissions))].join(', ')
    fail(`The authenticating token does not hold these permissions where asked: ${list}`)
  }
}

/** Approval requests a new token opens: which groups, and who asked why. */
export interface PendingApprovals {
  ctx: AuditContext
  reason: string | null
  groups: ApprovalGroup[]
}

/**
 * A new token's expiry under policy (which refuses what policy forbids) and the groups it must ask
 * approval of, from one reach of the token. Read BEFORE its transaction: the reach query takes a
 * pool connection of its own, and asking from inside the transaction made concurrent creations
 * hold every connection while waiting for one more (503s at 10 parallel creations).
 */
export async function admitNewToken(deps: TokenDeps, token: GateToken, expiry: ExpiryRequest, ctx: AuditContext, reason: string | null): Promise<{ expiresAt: string | null; approval: PendingApprovals }> {
  const { expiresAt, approvalGroups } = await deps.policies.admit(token, expiry)
  return { expiresAt, approval: { ctx, reason, groups: approvalGroups } }
}

/** What a new token is: its owner, name, kind, scopes, expiry and (for issueToken) where it comes from. */
export interface NewToken {
  owner: UserRow
  name: string
  description: string | null
  kind: 'fine_grained' | 'legacy'
  legacyScopes: string[]
  stored: StoredScope[]
  expiresAt: string | null
  createdBy: string
  templateId?: number | null
}

/** The new row's own columns and its secret (returned once, never stored: only its digest is). */
export async function newTokenColumns(deps: TokenDeps, values: NewToken): Promise<{ columns: repo.StandaloneTokenRow; secret: string }> {
  const prefix = values.kind === 'legacy' ? deps.config.legacyTokenPrefix : await deps.policies.tokenPrefix(deps.config.tokenPrefix)
  const secret = generateToken(prefix)
  const columns = {
    user_id: values.owner.id,
    name: values.name,
    description: values.description,
    kind: values.kind,
    scopes: values.kind === 'legacy' ? values.legacyScopes : [],
    token_digest: digestToken(deps.config.tokenPeppers[0], secret),
    token_hint: tokenHint(secret),
    expires_at: values.expiresAt,
    created_by: values.createdBy,
    template_id: values.templateId ?? null,
  }
  return { columns, secret }
}

export async function issueToken(
  trx: Trx,
  deps: TokenDeps,
  values: NewToken & {
    previousId?: number | null
    familyId?: number | null
    duplicatedFromId?: number | null
    /** A fine-grained successor of this legacy token (conversion). */
    convertedFromId?: number | null
    /**
     * A new token (creation, duplication): pending approval requests for the groups it reaches that
     * require approval. Rotation moves the predecessor's requests instead, and a conversion copies
     * the legacy token's (it replaces a token that reached those groups).
     */
    approval?: PendingApprovals
  },
): Promise<{ row: TokenRow; secret: string }> {
  const { columns, secret } = await newTokenColumns(deps, values)
  const row = await repo.insertToken(
    trx,
    {
      ...columns,
      previous_personal_access_token_id: values.previousId ?? null,
      family_id: values.familyId ?? null,
      duplicated_from_id: values.duplicatedFromId ?? null,
      converted_from_id: values.convertedFromId ?? null,
    },
    values.kind === 'fine_grained' ? values.stored : [],
  )
  // A rotation successor, a duplicate or a conversion keeps the groups' removals of the token it came from.
  const from = values.previousId ?? values.duplicatedFromId ?? values.convertedFromId
  if (from) await copyRemovals(trx, from, row.id)
  if (values.previousId) await carryApprovals(trx, values.previousId, row.id)
  else if (values.convertedFromId) await copyApprovals(trx, values.convertedFromId, row.id)
  else if (values.approval) {
    await openApprovalRequests(trx, row, values.approval.groups, values.approval.reason, values.approval.ctx, deps.clock())
  }
  return { row, secret }
}

export function tokenAuditDetails(row: Pick<TokenRow, 'user_id' | 'name' | 'token_hint' | 'kind' | 'expires_at'>, extra: Record<string, unknown> = {}) {
  return { user_id: row.user_id, name: row.name, token_hint: row.token_hint, kind: row.kind, expires_at: row.expires_at, ...extra }
}

export function createTokenService(deps: TokenDeps) {
  const { db, clock } = deps
  const today = () => utcDate(clock())

  async function resolveOwner(caller: Caller, ownerId: number | undefined): Promise<UserRow> {
    const self = callerUser(caller)
    if (ownerId === undefined || ownerId === self?.id) {
      if (!self) throw new AppError(400, 'user_required', 'A service must create tokens for a user: POST /users/:id/personal_access_tokens')
      return self
    }
    if (!isAdminCaller(caller)) throw notFound(`User ${ownerId}`)
    const owner = await repo.findUser(db, ownerId)
    if (!owner) throw notFound(`User ${ownerId}`)
    return owner
  }

  /** template_id → granular_scopes (with template_targets) and the template's default lifetime. */
  async function applyTemplate(owner: UserRow, input: CreateTokenInput) {
    if (input.template_id === undefined) {
      if (input.template_targets !== undefined) throw invalidField('body.template_targets', 'is only used with template_id')
      return { input, templateId: null, lifetime: undefined }
    }
    if (input.scopes !== undefined || input.granular_scopes !== undefined) {
      throw new AppError(400, 'template_conflict', 'body.template_id: give a template or scopes/granular_scopes, not both', [{ path: 'body.template_id', message: 'not with scopes or granular_scopes' }])
    }
    if (!deps.templates) throw new AppError(400, 'template_not_found', 'Templates are not available here')
    const t = await deps.templates.scopesForToken(owner, input.template_id, input.template_targets)
    return { input: { ...input, granular_scopes: t.granular_scopes }, templateId: t.id, lifetime: t.defaultLifetimeDays ?? undefined }
  }

  /**
   * A token that opens no approval request: the row, its scopes and its audit event in one statement
   * (repo.createToken) instead of a transaction of five round trips, the costliest part of a creation.
   */
  async function createStandalone(values: NewToken, ctx: AuditContext): Promise<{ row: TokenRow; secret: string }> {
    const { columns, secret } = await newTokenColumns(deps, values)
    const row = await repo.createToken(db, columns, values.kind === 'fine_grained' ? values.stored : [], ctx, tokenAuditDetails(columns))
    return { row, secret }
  }

  async function create(caller: Caller, ownerId: number | undefined, rawInput: CreateTokenInput, ctx: AuditContext) {
    const owner = await resolveOwner(caller, ownerId)
    if (owner.state !== 'active') throw new AppError(400, 'user_inactive', `User ${owner.id} is ${owner.state}; tokens cannot be created for them`)
    const { input, templateId, lifetime } = await applyTemplate(owner, rawInput)
    const name = requireName(input.name)
    const scopes = await requireValidScopes(db, owner, input, today())
    requireWithinCaller(caller, scopes)
    const { expiresAt, approval } = await admitNewToken(
      deps, { ownerId: owner.id, kind: scopes.kind, legacyScopes: scopes.legacyScopes, stored: scopes.stored },
      { requested: input.expires_at, useDefault: true, defaultLifetimeDays: lifetime }, ctx, input.approval_reason ?? null,
    )
    const values: NewToken = {
      owner, name, description: input.description ?? null, kind: scopes.kind, legacyScopes: scopes.legacyScopes,
      stored: scopes.stored, expiresAt, createdBy: `${ctx.actor.type}:${ctx.actor.id}`, templateId,
    }
    const { row, secret } = approval.groups.length === 0 ? await createStandalone(values, ctx) : await db.transaction().execute(async (trx) => {
      const issued = await issueToken(trx, deps, { ...values, approval })
      await recordAuditEvent(trx, audit(ctx, 'token.created', { type: TARGET, id: issued.row.id }, tokenAuditDetails(issued.row)))
      return issued
    })
    await deps.invalidate(tokenKeys([row]))
    return presentToken(db, row, clock(), { token: secret, warnings: [...new Set(scopes.warnings)] })
  }

  async function list(caller: Caller, q: ListQueryInput) {
    const self = callerUser(caller)
    let userId = q.user_id
    if (!isAdminCaller(caller)) {
      if (userId !== undefined && userId !== self?.id) {
        throw new AppError(403, 'forbidden', 'Only administrators can list other users\' tokens; filter by your own user_id or omit it')
      }
      userId = self?.id
    }
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const { total, rows } = await repo.listTokens(
      db,
      {
        userId, state: q.state, revoked: q.revoked, search: q.search, kind: q.kind,
        createdAfter: instant(q.created_after, 'created_after'), createdBefore: instant(q.created_before, 'created_before'),
        lastUsedAfter: instant(q.last_used_after, 'last_used_after'), lastUsedBefore: instant(q.last_used_before, 'last_used_before'), expiresAfter: q.expires_after, expiresBefore: q.expires_before,
      },
      today(),
      (q.sort as repo.TokenSort | undefined) ?? 'created_desc',
      page,
      perPage,
    )
    return { total, page, perPage, items: await presentTokens(db, rows, clock()) }
  }

  async function show(caller: Caller, id: number | 'self') {
    const token = id === 'self' ? selfToken(caller) : await visibleToken(db, caller, id)
    const since = addDays(today(), -29)
    const used = await repo.usageSince(db, token.id, since)
    const usage = {
      since,
      permissions: used.map((u) => ({ permission: u.permission, allowed: Number(u.allowed), denied: Number(u.denied), last_day: String(u.last_day) })),
    }
    return { ...(await presentToken(db, token, clock())), usage }
  }

  /**
   * `namespaceId`: the group a group owner acted through (its audit log, and the mail names it).
   * `comment`: the revoker's own words, kept in the audit event and quoted in the owner's mail.
   */
  async function revoke(caller: Caller, id: TokenRef, ctx: AuditContext, reason?: string, namespaceId?: number, comment?: string) {
    const visible = typeof id === 'object' ? id.row : id === 'self' ? selfToken(caller) : await visibleToken(db, caller, id)
    // A token's owner never changes, so the row already read tells who revokes (owner or admin).
    const why = reason ?? (callerUser(caller)?.id === visible.user_id ? 'owner' : 'admin')
    // One statement: revoked unless it already was (revoking twice is a no-op, not an error), with
    // its audit event (details as tokenAuditDetails gives them, from the revoked row).
    const revoked = await repo.revokeToken(
      db, visible.id, { revoked_at: clock(), revoked_by: `${actorOf(caller).type}:${actorOf(caller).id}`, revoke_reason: why },
      ctx, { revoke_reason: why, ...(comment ? { comment } : {}) }, namespaceId,
    )
    if (revoked) await deps.invalidate(tokenKeys([revoked]))
  }

  async function adminFind(caller: Caller, raw: string): Promise<TokenRow> {
    if (!isAdminCaller(caller)) throw new AppError(403, 'admin_required', 'Token information is for administrators')
    const token = isWellFormedToken(raw) ? await repo.findTokenByDigests(db, candidateDigests(deps.config.tokenPeppers, raw)) : undefined
    if (!token) throw notFound('Token')
    return token
  }

  return {
    create,
    list,
    show,
    revoke,
    adminLookup: async (caller: Caller, raw: string) => presentToken(db, await adminFind(caller, raw), clock()),
    adminRevoke: async (caller: Caller, raw: string, ctx: AuditContext) => revoke(caller, (await adminFind(caller, raw)).id, ctx, 'admin'),
  }
}

export type TokenService = ReturnType<typeof createTokenService>
