// Governance policy: instance settings and top-level group policies, and the pure rules that merge
// them (the stricter wins) and judge a token against them at creation, edit, rotation and
// duplication. The decision (decide.ts) applies the runtime knobs through PolicyEntry.
import { addDays } from './dates.js'
import type { PolicyEntry } from './decide.js'
import type { ExpiryPolicy } from './expiry.js'
import { expandPermissions, legacyScopePermissions } from './permissions/index.js'
import type { StoredScope } from './scopes.js'

/** The policy columns instance settings and group policies share, as stored (snake_case). */
export interface PolicyValues {
  require_expiry: boolean
  max_lifetime_days: number | null
  default_lifetime_days: number | null
  allow_legacy_tokens: boolean
  blocked_permissions: string[]
  allowed_ip_ranges: string[]
  auto_revoke_unused_days: number | null
}

/**
 * What a rotated-away secret presented again sets off: the whole rotation family revoked (GitLab's
 * behaviour, the default) or only the alert. Both record the event and mail the owner.
 */
export type ReuseDetection = 'revoke_family' | 'notify'
export const REUSE_DETECTIONS: readonly ReuseDetection[] = ['revoke_family', 'notify']

export interface InstancePolicy {
  requireExpiry: boolean
  maxLifetimeDays: number
  defaultLifetimeDays: number | null
  allowLegacyTokens: boolean
  legacyTokensBlockedFrom: string | null
  blockedPermissions: string[]
  allowedIpRanges: string[]
  autoRevokeUnusedDays: number | null
  tokenPrefix: string | null
  reuseDetection: ReuseDetection
  /**
   * Days a converted legacy token keeps working beside its fine-grained successor (0: revoked at the
   * next sweep). Optional: an entry cached before the knob existed reads as the default.
   */
  legacyConversionGraceDays?: number
  /** 0 until an administrator first saves the settings (the values then come from configuration). */
  version: number
}

export interface GroupPolicy {
  groupId: number
  /** false: the group has no policy of its own (a cached negative entry, version 0). */
  exists: boolean
  requireExpiry: boolean
  maxLifetimeDays: number | null
  defaultLifetimeDays: number | null
  allowLegacyTokens: boolean
  enforceFineGrainedFrom: string | null
  blockedPermissions: string[]
  allowedIpRanges: string[]
  autoRevokeUnusedDays: number | null
  /** null: the group leaves it to the instance. */
  reuseDetection: ReuseDetection | null
  /**
   * Tokens that gain reach into the group need its owners' approval (token_approval_requests).
   * Optional: an entry cached before the knob existed reads as false.
   */
  requireApproval?: boolean
  /** How the owners hear of approval requests; optional as requireApproval (absent: each_request). */
  approvalNotifications?: ApprovalNotifications
  version: number
}

/** each_request: one mail to the owners per request; daily_digest: one digest mail a day per owner. */
export type ApprovalNotifications = 'each_request' | 'daily_digest'

export const DEFAULT_INSTANCE_POLICY: InstancePolicy = {
  requireExpiry: true, maxLifetimeDays: 365, defaultLifetimeDays: null, allowLegacyTokens: true, legacyTokensBlockedFrom: null,
  blockedPermissions: [], allowedIpRanges: [], autoRevokeUnusedDays: null, tokenPrefix: null, reuseDetection: 'revoke_family',
  legacyConversionGraceDays: 14, version: 0,
}

/** The grace of a legacy → fine-grained conversion, 0-90 days; 14 unless an administrator says otherwise. */
export const DEFAULT_LEGACY_CONVERSION_GRACE_DAYS = 14
export const MAX_LEGACY_CONVERSION_GRACE_DAYS = 90
export const conversionGraceDays = (p: InstancePolicy): number => p.legacyConversionGraceDays ?? DEFAULT_LEGACY_CONVERSION_GRACE_DAYS

export const emptyGroupPolicy = (groupId: number): GroupPolicy => ({
  groupId, exists: false, requireExpiry: false, maxLifetimeDays: null, defaultLifetimeDays: null, allowLegacyTokens: true,
  enforceFineGrainedFrom: null, blockedPermissions: [], allowedIpRanges: [], autoRevokeUnusedDays: null, reuseDetection: null, requireApproval: false, approvalNotifications: 'each_request', version: 0,
})

export const instanceEntry = (p: InstancePolicy): PolicyEntry => ({
  allowLegacyTokens: p.allowLegacyTokens, legacyBlockedFrom: p.legacyTokensBlockedFrom, allowedIpRanges: p.allowedIpRanges, blockedPermissions: p.blockedPermissions,
})

export const groupEntry = (p: GroupPolicy): PolicyEntry => ({
  allowLegacyTokens: p.allowLegacyTokens, legacyBlockedFrom: p.enforceFineGrainedFrom, allowedIpRanges: p.allowedIpRanges, blockedPermissions: p.blockedPermissions,
  ...(p.requireApproval ? { requireApproval: true } : {}),
})

/** Which policy and which knob: named in every refusal so an admin knows what to change. */
export interface PolicyViolation {
  policy: string
  knob: string
  path: string
  message: string
}

const policyName = (g: GroupPolicy, paths: Map<number, string>) => `group ${paths.get(g.groupId) ?? g.groupId} (${g.groupId}) policy`

/** The stricter of the instance and every reached group: expiry required by any, the smallest maximum. */
export function mergedExpiry(instance: InstancePolicy, groups: GroupPolicy[], paths: Map<number, string>): ExpiryPolicy & { source: string; defaultLifetimeDays: number | null } {
  let maxLifetimeDays = instance.maxLifetimeDays
  let source = 'instance settings'
  let defaultLifetimeDays = instance.defaultLifetimeDays
  let required = instance.requireExpiry
  for (const g of groups) {
    required ||= g.requireExpiry
    if (g.maxLifetimeDays !== null && g.maxLifetimeDays < maxLifetimeDays) {
      maxLifetimeDays = g.maxLifetimeDays
      source = policyName(g, paths)
    }
    if (g.defaultLifetimeDays !== null && (defaultLifetimeDays === null || g.defaultLifetimeDays < defaultLifetimeDays)) defaultLifetimeDays = g.defaultLifetimeDays
  }
  if (defaultLifetimeDays !== null) defaultLifetimeDays = Math.min(defaultLifetimeDays, maxLifetimeDays)
  return { required, maxLifetimeDays, source, defaultLifetimeDays }
}

/**
 * The stricter wins: the family is revoked unless the instance says notify and no reached group
 * says revoke_family. (Anything but an explicit 'notify' on the instance counts as revoke_family,
 * so an entry cached before the knob existed errs on the safe side.)
 */
export function mergedReuseDetection(instance: InstancePolicy, groups: GroupPolicy[]): ReuseDetection {
  return instance.reuseDetection !== 'notify' || groups.some((g) => g.reuseDetection === 'revoke_family') ? 'revoke_family' : 'notify'
}

/** The configured default lifetime (instance or group `default_lifetime_days`), when there is one. */
export const defaultExpiry = (merged: { defaultLifetimeDays: number | null }, today: string): string | undefined =>
  merged.defaultLifetimeDays === null ? undefined : addDays(today, merged.defaultLifetimeDays)

/** What GitLab gives a token created without expires_at: 365 days, or the maximum lifetime if lower. */
export const GITLAB_DEFAULT_LIFETIME_DAYS = 365
export const gitlabDefaultExpiry = (merged: { maxLifetimeDays: number }, today: string): string =>
  addDays(today, Math.min(GITLAB_DEFAULT_LIFETIME_DAYS, merged.maxLifetimeDays))

export interface TokenUnderPolicy {
  kind: 'fine_grained' | 'legacy'
  legacyScopes: string[]
  stored: StoredScope[]
  /** Top-level group id → the permissions (bundles expanded) the token's scopes hold there. */
  reach: Map<number, Set<string>>
}

function legacyCut(allowed: boolean, from: string | null, today: string): boolean {
  return !allowed || (from !== null && from <= today)
}

/** Legacy tokens and blocked permissions. Expiry is judged by mergedExpiry + checkExpiry. */
export function policyViolations(token: TokenUnderPolicy, instance: InstancePolicy, groups: GroupPolicy[], paths: Map<number, string>, today: string): PolicyViolation[] {
  const out: PolicyViolation[] = []
  const field = token.kind === 'legacy' ? 'body.scopes' : 'body.granular_scopes'
  if (token.kind === 'legacy') {
    if (legacyCut(instance.allowLegacyTokens, instance.legacyTokensBlockedFrom, today)) {
      const knob = instance.allowLegacyTokens ? 'legacy_tokens_blocked_from' : 'allow_legacy_tokens'
      out.push({ policy: 'instance settings', knob, path: field, message: `legacy tokens are not allowed by the instance settings (${knob}); use granular_scopes` })
    }
    for (const g of groups) {
      if (!legacyCut(g.allowLegacyTokens, g.enforceFineGrainedFrom, today)) continue
      const knob = g.allowLegacyTokens ? 'enforce_fine_grained_from' : 'allow_legacy_tokens'
      out.push({ policy: policyName(g, paths), knob, path: field, message: `legacy tokens are not allowed by the ${policyName(g, paths)} (${knob}); use granular_scopes` })
    }
    // A legacy scope such as api holds every permission: blocked ones are denied at decision time.
    return out
  }
  const all = expandPermissions(token.stored.flatMap((s) => s.permissions))
  const hit = instance.blockedPermissions.filter((p) => all.has(p))
  if (hit.length > 0) out.push({ policy: 'instance settings', knob: 'blocked_permissions', path: field, message: `blocked by the instance settings: ${hit.join(', ')}` })
  for (const g of groups) {
    const held = token.reach.get(g.groupId)
    const blocked = held ? g.blockedPermissions.filter((p) => held.has(p)) : []
    if (blocked.length > 0) {
      out.push({ policy: policyName(g, paths), knob: 'blocked_permissions', path: field, message: `blocked by the ${policyName(g, paths)} on its groups and projects: ${blocked.join(', ')}` })
    }
  }
  return out
}

/** The permissions a legacy token's scopes hold (for reach maps). */
export const legacyHeld = (scopes: string[]): Set<string> => new Set(scopes.flatMap((s) => [...(legacyScopePermissions(s) ?? [])]))
