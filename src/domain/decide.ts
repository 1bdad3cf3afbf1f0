// The decision: may this token do these things on this resource, right now? Pure: every fact it
// needs (token, owner, resource, policies) is loaded by the caller, so it is tested exhaustively
// without I/O and runs in microseconds on the hot path. First failure wins, each with a stable code.
import type { ScopeAccess } from '../db/types.js'
import { utcDate } from './dates.js'
import { getPermission, legacyScopeGrants, type Permission, permissionTitles } from './permissions/index.js'
import { expandPermissions } from './permissions/index.js'
import type { StoredScope } from './scopes.js'

export type DenyReason =
  | 'malformed_token'
  | 'token_not_found'
  | 'token_revoked'
  | 'token_expired'
  | 'user_inactive'
  | 'resource_not_found'
  | 'access_removed_by_group'
  | 'approval_pending'
  | 'legacy_token_blocked'
  | 'ip_not_allowed'
  | 'permission_blocked_by_policy'
  | 'resource_not_in_scope'
  | 'permission_not_granted'
  | 'insufficient_role'
export type Reason = 'allowed' | DenyReason

export const DENY_REASONS: readonly DenyReason[] = [
  'malformed_token', 'token_not_found', 'token_revoked', 'token_expired', 'user_inactive', 'resource_not_found',
  'access_removed_by_group', 'approval_pending', 'legacy_token_blocked', 'ip_not_allowed', 'permission_blocked_by_policy', 'resource_not_in_scope',
  'permission_not_granted', 'insufficient_role',
]

/** A token as the hot path keeps it (cached, versioned). */
export interface TokenEntry {
  id: number
  userId: number
  kind: 'fine_grained' | 'legacy'
  expiresAt: string | null
  revoked: boolean
  /** Revoked because rotation replaced it: presenting it again is reuse (modules/tokens/reuse.ts). */
  rotatedAway?: boolean
  legacyScopes: string[]
  scopes: StoredScope[]
  /**
   * Groups whose owners removed this token's access to them and everything below them. Absent
   * when there are none (nearly every token, and entries cached before the field existed).
   */
  removedFromGroups?: number[]
  /**
   * Top-level groups where this token's approval request is not approved (pending, denied or
   * expired). Absent when there are none. Denies there only while the group requires approval.
   */
  awaitingApprovalIn?: number[]
  version: number
}

/** The token owner's standing: state, admin flag and memberships (namespace id → level). */
export interface OwnerEntry {
  id: number
  state: 'active' | 'blocked' | 'deactivated'
  isAdmin: boolean
  personalNamespaceId: number | null
  /** [namespace id, access level, expires_at or null] */
  memberships: [number, number, string | null][]
  version: number
}

export interface NamespaceEntry {
  id: number
  kind: 'group' | 'project' | 'user'
  fullPath: string
  visibility: 'private' | 'internal' | 'public'
  traversalIds: number[]
  version: number
}

export type ResourceType = 'project' | 'group' | 'user' | 'instance'

/** Policy knobs at one level (instance, or a top-level group). Stricter of the two wins. */
export interface PolicyEntry {
  allowLegacyTokens: boolean
  /** Legacy tokens stop working from this date (YYYY-MM-DD), when set. */
  legacyBlockedFrom: string | null
  /** Empty: any address. Otherwise the client IP must fall in one of these CIDRs. */
  allowedIpRanges: string[]
  blockedPermissions: string[]
  /** A top-level group that requires its owners' approval of the tokens reaching it (absent: no). */
  requireApproval?: boolean
}

export interface DecisionInput {
  /** Did the token string parse with a valid checksum? */
  wellFormed: boolean
  token: TokenEntry | undefined
  owner: OwnerEntry | undefined
  permissions: Permission[]
  resourceType: ResourceType
  /** The resolved namespace (project/group), the user id (user), nothing (instance); undefined when unknown. */
  resource: NamespaceEntry | { userId: number } | 'instance' | undefined
  ip: string | undefined
  now: Date
  policies: PolicyEntry[]
  ipAllowed: (ip: string, ranges: string[]) => boolean
  /**
   * GitLab's Admin Mode (ADMIN_MODE): a legacy token's instance-administration permissions count only
   * when it also holds the admin_mode scope. Fine-grained tokens name those permissions explicitly.
   */
  adminMode?: boolean
}

export interface Decision {
  allowed: boolean
  reason: Reason
  missing?: string[]
  token?: { id: number; user_id: number; kind: 'fine_grained' | 'legacy'; expires_at: string | null }
  scope?: { access: ScopeAccess | 'legacy'; namespace_id: number | null }[]
  // The request form of /authorize (a GitLab route) adds what the route resolved to; decide() never sets these.
  permission?: string
  resource?: { type: ResourceType; id?: number; path?: string }
  accepted_permissions?: string[]
}

const NOTHING: ReadonlySet<string> = new Set()

// A scope's permissions with bundles expanded, computed once per scope object: cached token entries
// are replaced, never mutated, so the same object always means the same permissions.
const expandedScopes = new WeakMap<StoredScope, ReadonlySet<string>>()
function scopeGrants(scope: StoredScope): ReadonlySet<string> {
  let grants = expandedScopes.get(scope)
  if (!grants) expandedScopes.set(scope, (grants = expandPermissions(scope.permissions)))
  return grants
}

// Views of cached entries as decisions show them, built once per entry object (decisions are
// serialized, never mutated, so they may share them).
type TokenView = NonNullable<Decision['token']>
type ScopeView = NonNullable<Decision['scope']>[number]
const tokenViews = new WeakMap<TokenEntry, TokenView>()
const scopeViews = new WeakMap<StoredScope, ScopeView>()
const LEGACY_MATCH: ScopeView[] = [{ access: 'legacy', namespace_id: null }]
function tokenView(token: TokenEntry): TokenView {
  let view = tokenViews.get(token)
  if (!view) tokenViews.set(token, (view = { id: token.id, user_id: token.userId, kind: token.kind, expires_at: token.expiresAt }))
  return view
}
function scopeView(scope: StoredScope): ScopeView {
  let view = scopeViews.get(scope)
  if (!view) scopeViews.set(scope, (view = { access: scope.access, namespace_id: scope.namespace_id }))
  return view
}

const deny = (reason: DenyReason, extra: Partial<Decision> = {}): Decision => ({ allowed: false, reason, ...extra })

/** The owner's effective level on a namespace: max membership on its path; owner of their personal namespace. */
export function effectiveLevel(owner: OwnerEntry, ns: NamespaceEntry, today: string): number {
  let level = 0
  if (owner.personalNamespaceId !== null && ns.traversalIds[0] === owner.personalNamespaceId) level = 50
  for (const [nsId, l, expiresAt] of owner.memberships) {
    if (l > level && (expiresAt === null || expiresAt > today) && ns.traversalIds.includes(nsId)) level = l
  }
  return level
}

function isNamespace(r: DecisionInput['resource']): r is NamespaceEntry {
  return typeof r === 'object' && r !== null && 'traversalIds' in r
}

function scopeCovers(scope: StoredScope, input: DecisionInput, owner: OwnerEntry, today: string): boolean {
  const r = input.resource
  switch (scope.access) {
    case 'selected_memberships':
      return isNamespace(r) && scope.namespace_id !== null && r.traversalIds.includes(scope.namespace_id)
    case 'all_memberships':
      return isNamespace(r) && r.kind !== 'user' && effectiveLevel(owner, r, today) > 0
    case 'personal_projects':
      return isNamespace(r) && r.kind === 'project' && owner.personalNamespaceId !== null && r.traversalIds[0] === owner.personalNamespaceId
    case 'user':
      return input.resourceType === 'user' && typeof r === 'object' && 'userId' in r && r.userId === owner.id
    case 'instance':
      return input.resourceType === 'instance'
  }
}

export function decide(input: DecisionInput): Decision {
  if (!input.wellFormed) return deny('malformed_token')
  const { token, owner } = input
  if (!token) return deny('token_not_found')
  const tokenInfo = tokenView(token)
  const withToken = (reason: DenyReason, extra: Partial<Decision> = {}) => deny(reason, { token: tokenInfo, ...extra })
  if (token.revoked) return withToken('token_revoked')
  const today = utcDate(input.now)
  if (token.expiresAt !== null && token.expiresAt <= today) return withToken('token_expired')
  if (!owner || owner.state !== 'active') return withToken('user_inactive')
  if (input.resource === undefined) return withToken('resource_not_found')
  // A group's owners removed this token's access to the group (and everything below it). Like a
  // revocation limited to that subtree, it is a fact about the token, not about what is asked: it
  // comes right after the token's own validity (it needs the resource, hence after resolving it)
  // and before policy and scope matching, so no permission, scope or policy can lift it, and the
  // deny names the group's decision rather than whatever else would also fail.
  const removed = token.removedFromGroups
  const resource = input.resource
  if (removed !== undefined && isNamespace(resource) && removed.some((g) => resource.traversalIds.includes(g))) return withToken('access_removed_by_group')
  // The group's owners have not approved this token (yet): the same kind of fact, limited to one
  // top-level group, and only while that group's policy still requires approval.
  const awaiting = token.awaitingApprovalIn
  if (awaiting !== undefined && isNamespace(resource) && awaiting.includes(resource.traversalIds[0]) && input.policies.some((p) => p.requireApproval === true)) {
    return withToken('approval_pending')
  }

  for (const policy of input.policies) {
    if (token.kind === 'legacy' && (!policy.allowLegacyTokens || (policy.legacyBlockedFrom !== null && policy.legacyBlockedFrom <= today))) {
      return withToken('legacy_token_blocked')
    }
    if (policy.allowedIpRanges.length > 0 && (!input.ip || !input.ipAllowed(input.ip, policy.allowedIpRanges))) {
      return withToken('ip_not_allowed')
    }
    if (policy.blockedPermissions.length > 0) {
      const blocked = input.permissions.filter((p) => policy.blockedPermissions.includes(p.name))
      if (blocked.length > 0) return withToken('permission_blocked_by_policy', { missing: blocked.map((p) => p.title) })
    }
  }

  let grants: ReadonlySet<string>[]
  let matched: Decision['scope']
  let adminLocked = false
  if (token.kind === 'legacy') {
    adminLocked = input.adminMode === true && !token.legacyScopes.includes('admin_mode')
    // A legacy token reaches whatever its owner reaches; its scopes name what it may do there.
    grants = token.legacyScopes.map((s) => legacyScopeGrants(s) ?? NOTHING)
    matched = LEGACY_MATCH
  } else {
    const covering = token.scopes.filter((s) => scopeCovers(s, input, owner, today))
    if (covering.length === 0) return withToken('resource_not_in_scope')
    grants = covering.map(scopeGrants)
    matched = covering.map(scopeView)
  }
  const missing = input.permissions.filter((p) => (adminLocked && p.requiresAdmin) || !grants.some((g) => g.has(p.name)))
  if (missing.length > 0) {
    return withToken('permission_not_granted', { missing: permissionTitles(missing.map((p) => p.name)), scope: matched })
  }

  const tooLow = input.permissions.filter((p) => !ownerMay(p, input, owner, today))
  if (tooLow.length > 0) {
    return withToken('insufficient_role', { missing: permissionTitles(tooLow.map((p) => p.name)), scope: matched })
  }
  return { allowed: true, reason: 'allowed', token: tokenInfo, scope: matched }
}

/** A token never exceeds its owner: the owner must hold the permission's role there themselves. */
function ownerMay(p: Permission, input: DecisionInput, owner: OwnerEntry, today: string): boolean {
  const r = input.resource
  if (input.resourceType === 'instance') return !p.requiresAdmin || owner.isAdmin
  if (input.resourceType === 'user') return typeof r === 'object' && 'userId' in r && r.userId === owner.id
  if (!isNamespace(r)) return false
  const level = effectiveLevel(owner, r, today)
  if (level >= p.minAccessLevel && level > 0) return true
  // Reads anyone may do: public resources for everyone, internal ones for any signed-in user.
  return p.publicRead && (r.visibility === 'public' || r.visibility === 'internal')
}

/** Resolves permission names; unknown names and boundary mismatches are request errors, not denials. */
export function resolvePermissions(names: string[], resourceType: ResourceType): { ok: true; permissions: Permission[] } | { ok: false; problem: string; index: number } {
  const permissions: Permission[] = []
  for (let i = 0; i < names.length; i++) {
    const p = getPermission(names[i])
    if (!p) return { ok: false, problem: `unknown permission "${names[i]}"`, index: i }
    if (!p.boundaries.includes(resourceType)) {
      return { ok: false, problem: `"${p.name}" does not apply to a ${resourceType} (it applies to: ${p.boundaries.join(', ')})`, index: i }
    }
    permissions.push(p)
  }
  return { ok: true, permissions }
}
