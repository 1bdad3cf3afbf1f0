// Instance settings and top-level group policies: read, change (one transaction with its audit
// event), then refresh the pol:* cache entries so the very next decision applies the change.
import type { Caller } from '../../auth/caller.js'
import { actorOf } from '../../auth/caller.js'
import { loadGroupPolicies, loadInstancePolicy } from '../../cache/loaders.js'
import type { CacheKey, MaybePromise, PolicyCache } from '../../cache/policy-cache.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import type { PolicyEntry } from '../../domain/decide.js'
import { conversionGraceDays, DEFAULT_INSTANCE_POLICY, type GroupPolicy, groupEntry, type InstancePolicy, instanceEntry } from '../../domain/policy.js'
import { AppError } from '../../http/errors.js'
import { sendLastDigest } from '../approvals/digest.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { manageableTopLevelGroup, requireAdmin } from './access.js'
import * as repo from './repository.js'
import type { UpdateGroupPolicyInput, UpdateInstanceSettingsInput } from './schemas.js'
import { validateGroupPolicy, validateInstanceSettings } from './validate.js'

/** Until an administrator saves the settings, the configuration's values apply (version 0). */
export function instanceDefaultsFrom(config: Readonly<Config>): InstancePolicy {
  return {
    ...DEFAULT_INSTANCE_POLICY,
    requireExpiry: config.requireTokenExpiry,
    maxLifetimeDays: config.maxTokenLifetimeDays,
    autoRevokeUnusedDays: config.autoRevokeUnusedDays > 0 ? config.autoRevokeUnusedDays : null,
  }
}

/**
 * For the hot path: the instance policy, then the resource's top-level group policy when it has
 * one. Answers synchronously when both are in L1; the lists are built once per pair of cached
 * entries (entries are replaced, never mutated, so identity is a safe memo key).
 */
export function decisionPolicies(cache: PolicyCache) {
  const alone = new WeakMap<InstancePolicy, PolicyEntry[]>()
  const paired = new WeakMap<InstancePolicy, WeakMap<GroupPolicy, PolicyEntry[]>>()
  function entriesFor(instance: InstancePolicy, group: GroupPolicy | undefined): PolicyEntry[] {
    if (!group?.exists) {
      let list = alone.get(instance)
      if (!list) alone.set(instance, (list = [instanceEntry(instance)]))
      return list
    }
    let byGroup = paired.get(instance)
    if (!byGroup) paired.set(instance, (byGroup = new WeakMap()))
    let list = byGroup.get(group)
    if (!list) byGroup.set(group, (list = [instanceEntry(instance), groupEntry(group)]))
    return list
  }
  return (resource: unknown): MaybePromise<PolicyEntry[]> => {
    const instance = cache.instancePolicy()
    const inNamespace = typeof resource === 'object' && resource !== null && 'traversalIds' in resource && 'kind' in resource
    const group = inNamespace ? cache.groupPolicy((resource as { traversalIds: number[] }).traversalIds[0]) : undefined
    if (instance instanceof Promise || group instanceof Promise) return Promise.all([instance, group]).then(([i, g]) => entriesFor(i, g))
    return entriesFor(instance, group)
  }
}

export interface PolicyDeps {
  db: Db
  config: Readonly<Config>
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
}

const presentInstance = (p: InstancePolicy, updatedAt: Date | null) => ({
  require_expiry: p.requireExpiry, max_lifetime_days: p.maxLifetimeDays, default_lifetime_days: p.defaultLifetimeDays,
  allow_legacy_tokens: p.allowLegacyTokens, legacy_tokens_blocked_from: p.legacyTokensBlockedFrom, blocked_permissions: p.blockedPermissions,
  allowed_ip_ranges: p.allowedIpRanges, auto_revoke_unused_days: p.autoRevokeUnusedDays, token_prefix: p.tokenPrefix, reuse_detection: p.reuseDetection,
  legacy_conversion_grace_days: conversionGraceDays(p), version: p.version,
  updated_at: updatedAt?.toISOString() ?? null,
})
type InstanceBody = ReturnType<typeof presentInstance>

const presentGroup = (p: GroupPolicy, fullPath: string, updatedAt: Date | null) => ({
  group_id: p.groupId, full_path: fullPath, require_expiry: p.requireExpiry, max_lifetime_days: p.maxLifetimeDays,
  default_lifetime_days: p.defaultLifetimeDays, allow_legacy_tokens: p.allowLegacyTokens, enforce_fine_grained_from: p.enforceFineGrainedFrom,
  blocked_permissions: p.blockedPermissions, allowed_ip_ranges: p.allowedIpRanges, auto_revoke_unused_days: p.autoRevokeUnusedDays,
  reuse_detection: p.reuseDetection, require_approval: p.requireApproval ?? false,
  approval_notifications: p.approvalNotifications ?? 'each_request', version: p.version, updated_at: updatedAt?.toISOString() ?? null,
})

/** Field-by-field before/after of what changed, for the audit event. */
function diff(before: Record<string, unknown>, after: Record<string, unknown>, fields: string[]): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {}
  for (const f of fields) if (JSON.stringify(before[f]) !== JSON.stringify(after[f])) out[f] = { from: before[f], to: after[f] }
  return out
}

export function createPolicyService(deps: PolicyDeps) {
  const { db, clock } = deps
  const defaults = instanceDefaultsFrom(deps.config)
  const by = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

  async function instanceSettings(caller: Caller) {
    requireAdmin(caller, 'Instance settings')
    return presentInstance(await loadInstancePolicy(db, defaults), await repo.updatedAt(db, 'instance_settings', 1))
  }

  async function updateInstanceSettings(caller: Caller, input: UpdateInstanceSettingsInput, ctx: AuditContext) {
    requireAdmin(caller, 'Instance settings')
    const result = await db.transaction().execute(async (trx) => {
      await repo.lockInstanceSettings(trx, { ...toValues(defaults) })
      const current = presentInstance(await loadInstancePolicy(trx, defaults), null)
      const next: InstanceBody = { ...current, ...input }
      validateInstanceSettings(next, deps.config.legacyTokenPrefix)
      const changes = diff(current, next, Object.keys(input))
      if (Object.keys(changes).length === 0) return { changed: false }
      await repo.saveInstanceSettings(trx, { ...toValuesFromBody(next), legacy_tokens_blocked_from: next.legacy_tokens_blocked_from, token_prefix: next.token_prefix, reuse_detection: next.reuse_detection, legacy_conversion_grace_days: next.legacy_conversion_grace_days }, by(caller))
      await recordAuditEvent(trx, audit(ctx, 'policy.instance_updated', { type: 'instance_settings', id: 1 }, { changes }))
      return { changed: true }
    })
    if (result.changed) await deps.invalidate([{ kind: 'pol', groupId: null }])
    return instanceSettings(caller)
  }

  const topLevelGroup = (caller: Caller, groupId: number, permission: string) =>
    manageableTopLevelGroup(db, caller, groupId, clock(), permission, { living: 'Token policies', route: 'personal_access_token_policy', subject: 'policy', verb: 'applies' })

  async function groupPolicy(caller: Caller, groupId: number) {
    const group = await topLevelGroup(caller, groupId, 'read_group_token_policy')
    const [policy] = await loadGroupPolicies(db, [group.id])
    return presentGroup(policy, group.full_path, await repo.updatedAt(db, 'group_token_policies', group.id))
  }

  async function updateGroupPolicy(caller: Caller, groupId: number, input: UpdateGroupPolicyInput, ctx: AuditContext) {
    const group = await topLevelGroup(caller, groupId, 'update_group_token_policy')
    const changed = await db.transaction().execute(async (trx) => {
      await repo.lockGroupPolicy(trx, group.id)
      const [policy] = await loadGroupPolicies(trx, [group.id])
      const current = presentGroup(policy, group.full_path, null)
      const next = { ...current, ...input }
      validateGroupPolicy(next)
      const changes = diff(current, next, Object.keys(input))
      if (Object.keys(changes).length === 0 && policy.version > 0) return false
      await repo.saveGroupPolicy(trx, group.id, { ...toValuesFromBody(next), enforce_fine_grained_from: next.enforce_fine_grained_from, reuse_detection: next.reuse_detection, require_approval: next.require_approval, approval_notifications: next.approval_notifications }, by(caller))
      // Leaving the digest: what is pending goes out now, since no digest will list it (approvals/digest.ts).
      if (current.approval_notifications === 'daily_digest' && next.approval_notifications === 'each_request' && next.require_approval) {
        await sendLastDigest(trx, { id: group.id, fullPath: group.full_path }, clock())
      }
      await recordAuditEvent(trx, audit(ctx, 'policy.group_updated', { type: 'group_token_policy', id: group.id }, { full_path: group.full_path, changes }, group.id))
      return true
    })
    if (changed) await deps.invalidate([{ kind: 'pol', groupId: group.id }])
    return groupPolicy(caller, groupId)
  }

  return { instanceSettings, updateInstanceSettings, groupPolicy, updateGroupPolicy }
}

function toValues(p: InstancePolicy): repo.PolicyValues {
  return {
    require_expiry: p.requireExpiry, max_lifetime_days: p.maxLifetimeDays, default_lifetime_days: p.defaultLifetimeDays, allow_legacy_tokens: p.allowLegacyTokens,
    blocked_permissions: p.blockedPermissions, allowed_ip_ranges: p.allowedIpRanges, auto_revoke_unused_days: p.autoRevokeUnusedDays,
  }
}

function toValuesFromBody(b: repo.PolicyValues): repo.PolicyValues {
  return {
    require_expiry: b.require_expiry, max_lifetime_days: b.max_lifetime_days, default_lifetime_days: b.default_lifetime_days, allow_legacy_tokens: b.allow_legacy_tokens,
    blocked_permissions: [...new Set(b.blocked_permissions)], allowed_ip_ranges: b.allowed_ip_ranges, auto_revoke_unused_days: b.auto_revoke_unused_days,
  }
}

export type PolicyService = ReturnType<typeof createPolicyService>
