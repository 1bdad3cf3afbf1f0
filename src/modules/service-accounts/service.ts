// Group service accounts (GitLab's /groups/:id/service_accounts): users with no interactive login,
// owned by a top-level group. The group's owners (and administrators) create and delete them and
// create, list, rotate and revoke their tokens — and receive those secrets: they own the account.
// Anyone else, including the owners of another group, finds neither the group's accounts nor their
// tokens (404). Tokens are issued through the token module's own issueToken / rotate / revoke, so
// policy, audit and caches behave exactly as for any token; the audit events name the acting owner.
import { actorOf, type Caller } from '../../auth/caller.js'
import type { CacheKey } from '../../cache/policy-cache.js'
import type { TokenRow } from '../../db/types.js'
import { utcDate } from '../../domain/dates.js'
import { scopeTargets } from '../../domain/scopes.js'
import { scopesOutsideGroup, serviceAccountEmail, serviceAccountUsername } from '../../domain/service-accounts.js'
import { AppError, notFound } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { type ManagedGroup, manageableGroup } from '../policies/access.js'
import type { LifecycleService } from '../tokens/lifecycle.js'
import { presentToken, presentTokens } from '../tokens/present.js'
import { findToken, listTokens } from '../tokens/repository.js'
import {
  issueToken, requireName, requireWithinCaller, TARGET, type TokenDeps, tokenAuditDetails, tokenKeys, type TokenService,
} from '../tokens/service.js'
import { requireValidScopes } from '../tokens/validation.js'
import * as repo from './repository.js'
import type { CreateAccountTokenInput, CreateServiceAccountInput, ListAccountTokensQueryInput, ListServiceAccountsQueryInput, ServiceAccountBody } from './schemas.js'

export interface ServiceAccountDeps extends TokenDeps {
  tokens: Pick<TokenService, 'revoke'>
  lifecycle: Pick<LifecycleService, 'rotate'>
}

// What a PAT acting for a group owner must hold on the group: the closest group-token permissions.
const READ = 'read_group_access_token'
const CREATE = 'create_group_access_token'
const ROTATE = 'rotate_group_access_token'
const REVOKE = 'revoke_group_access_token'

const present = (row: repo.AccountRow): ServiceAccountBody => ({
  id: row.id, username: row.username, name: row.name, email: row.email, state: row.state,
  kind: 'service_account', group_id: row.service_account_group_id!, access_level: row.access_level,
})

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505'
}

export function createServiceAccountService(deps: ServiceAccountDeps) {
  const { db, clock } = deps
  const actorString = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

  /** The group, when the caller owns it or is an administrator; 404 otherwise (policies/access.ts). */
  const group = (caller: Caller, groupId: number, permission: string) => manageableGroup(db, caller, groupId, clock(), permission)

  /** The group and one of its service accounts; 404 for anything else (another group's account, a person). */
  async function account(caller: Caller, groupId: number, userId: number, permission: string): Promise<{ group: ManagedGroup; account: repo.AccountRow }> {
    const g = await group(caller, groupId, permission)
    const found = await repo.findAccount(db, g.id, userId)
    if (!found) throw notFound(`Service account ${userId}`)
    return { group: g, account: found }
  }

  /** One of the account's tokens; 404 for a token of anyone else. */
  async function accountToken(caller: Caller, groupId: number, userId: number, tokenId: number, permission: string) {
    const found = await account(caller, groupId, userId, permission)
    const token = await findToken(db, tokenId)
    if (!token || token.user_id !== found.account.id) throw notFound(`Personal access token ${tokenId}`)
    return { ...found, token }
  }

  async function create(caller: Caller, groupId: number, input: CreateServiceAccountInput, ctx: AuditContext): Promise<ServiceAccountBody> {
    const g = await group(caller, groupId, CREATE)
    if (g.parent_id !== null) {
      throw new AppError(400, 'top_level_group_required', `Service accounts belong to a top-level group; ${g.full_path} is a subgroup. Create it in group ${g.traversal_ids[0]}`)
    }
    const username = input?.username ?? serviceAccountUsername(g.id)
    const accessLevel = input?.access_level ?? 30
    const row = await db.transaction().execute(async (trx) => {
      const user = await repo.insertAccount(trx, { username, name: input?.name ?? 'Service account user', email: input?.email ?? serviceAccountEmail(username), groupId: g.id })
      await repo.addMembership(trx, user.id, g.id, accessLevel)
      await recordAuditEvent(trx, audit(ctx, 'service_account.created', { type: 'user', id: user.id }, { username, group_id: g.id, access_level: accessLevel }, g.id))
      return { ...user, access_level: accessLevel }
    }).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw new AppError(409, 'username_taken', `body.username: "${username}" is taken by another user`, [{ path: 'body.username', message: 'is taken by another user' }])
      throw err
    })
    return present(row)
  }

  async function list(caller: Caller, groupId: number, q: ListServiceAccountsQueryInput) {
    const g = await group(caller, groupId, READ)
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const { total, rows } = await repo.listAccounts(db, g.id, q.order_by ?? 'id', q.sort ?? 'desc', page, perPage)
    return { total, page, perPage, items: rows.map(present) }
  }

  async function show(caller: Caller, groupId: number, userId: number) {
    return present((await account(caller, groupId, userId, READ)).account)
  }

  /** GitLab deletes the user; here it is deactivated (its tokens' history refers to it), its memberships and live tokens go. */
  async function remove(caller: Caller, groupId: number, userId: number, ctx: AuditContext): Promise<void> {
    const found = await account(caller, groupId, userId, REVOKE)
    const revoked = await db.transaction().execute(async (trx) => {
      const user = await repo.lockUser(trx, found.account.id)
      if (!user || user.state === 'deactivated') return [] // deleting twice changes nothing
      const rows = await repo.deactivate(trx, user.id, actorString(caller), clock())
      await recordAuditEvent(trx, audit(ctx, 'service_account.deleted', { type: 'user', id: user.id }, {
        username: user.username, group_id: found.group.id, revoked_token_ids: rows.map((r) => r.id),
      }, found.group.id))
      return rows
    })
    const keys: CacheKey[] = [{ kind: 'acc', userId: found.account.id }, ...tokenKeys(revoked)]
    await deps.invalidate(keys)
  }

  async function createToken(caller: Caller, groupId: number, userId: number, input: CreateAccountTokenInput, ctx: AuditContext) {
    const { group: g, account: owner } = await account(caller, groupId, userId, CREATE)
    if (owner.state !== 'active') throw new AppError(400, 'user_inactive', `Service account ${owner.id} is ${owner.state}; tokens cannot be created for it`)
    const name = requireName(input.name)
    const outside = (problems: { path: string; message: string }[]) => {
      if (problems.length > 0) throw new AppError(400, 'scope_outside_group', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems)
    }
    outside(scopesOutsideGroup(input.granular_scopes, g.id, () => undefined)) // the access kinds, before any lookup
    // Before the ordinary validation: "outside the group" says more than "no membership there".
    const roots = await repo.rootsOf(db, input.granular_scopes.flatMap((s) => scopeTargets(s).map((target) => target.id)))
    outside(scopesOutsideGroup(input.granular_scopes, g.id, (id) => roots.get(id)))
    const scopes = await requireValidScopes(db, owner, { granular_scopes: input.granular_scopes }, utcDate(clock()))
    requireWithinCaller(caller, scopes) // a group owner's PAT cannot mint a broader token than itself
    const expiresAt = await deps.policies.enforce(
      { ownerId: owner.id, kind: 'fine_grained', legacyScopes: [], stored: scopes.stored },
      { requested: input.expires_at, useDefault: true },
    )
    const { row, secret } = await db.transaction().execute(async (trx) => {
      const issued = await issueToken(trx, deps, {
        owner, name, description: input.description ?? null, kind: 'fine_grained', legacyScopes: [],
        stored: scopes.stored, expiresAt, createdBy: actorString(caller),
      })
      await recordAuditEvent(trx, audit(ctx, 'token.created', { type: TARGET, id: issued.row.id }, tokenAuditDetails(issued.row, { service_account: true }), g.id))
      return issued
    })
    await deps.invalidate(tokenKeys([row]))
    return presentToken(db, row, clock(), { token: secret, warnings: [...new Set(scopes.warnings)] })
  }

  async function listTokensOf(caller: Caller, groupId: number, userId: number, q: ListAccountTokensQueryInput) {
    const { account: owner } = await account(caller, groupId, userId, READ)
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const { total, rows } = await listTokens(db, { userId: owner.id, state: q.state }, utcDate(clock()), 'created_desc', page, perPage)
    return { total, page, perPage, items: await presentTokens(db, rows, clock()) }
  }

  async function rotateToken(caller: Caller, groupId: number, userId: number, tokenId: number, expiresAt: string | null | undefined, ctx: AuditContext) {
    const { token } = await accountToken(caller, groupId, userId, tokenId, ROTATE)
    return deps.lifecycle.rotate(caller, { row: token }, expiresAt, ctx)
  }

  async function revokeToken(caller: Caller, groupId: number, userId: number, tokenId: number, ctx: AuditContext): Promise<void> {
    const { token, group: g } = await accountToken(caller, groupId, userId, tokenId, REVOKE)
    await deps.tokens.revoke(caller, { row: token as TokenRow }, ctx, 'group_owner', g.id)
  }

  return { create, list, show, remove, createToken, listTokens: listTokensOf, rotateToken, revokeToken }
}

export type ServiceAccountService = ReturnType<typeof createServiceAccountService>
