// Enforcement at the token end: creation, edit, rotation and duplication ask the gate, which loads
// the instance settings and the policy of every top-level group the token can reach (through the
// policy cache) and refuses what the stricter of them forbids, naming the policy and the knob.
import type { PolicyCache } from '../../cache/policy-cache.js'
import type { Db } from '../../db/index.js'
import { addDays, type Clock, utcDate } from '../../domain/dates.js'
import { carriedOverExpiry, checkExpiry } from '../../domain/expiry.js'
import { expandPermissions } from '../../domain/permissions/index.js'
import {
  defaultExpiry, gitlabDefaultExpiry, type GroupPolicy, legacyHeld, mergedExpiry, mergedReuseDetection, type PolicyViolation, policyViolations, type ReuseDetection,
} from '../../domain/policy.js'
import type { StoredScope } from '../../domain/scopes.js'
import { AppError, invalidField } from '../../http/errors.js'
import * as repo from './repository.js'

/** A top-level group whose policy requires its owners' approval of the tokens reaching it. */
export interface ApprovalGroup {
  groupId: number
  fullPath: string
}

export interface GateToken {
  ownerId: number
  kind: 'fine_grained' | 'legacy'
  legacyScopes: string[]
  stored: StoredScope[]
}

export interface ExpiryRequest {
  /** What the caller sent: undefined when absent. */
  requested: string | null | undefined
  /**
   * New and duplicated tokens given no expires_at get the configured default lifetime; failing that a
   * duplicate keeps the original's lifetime length and a new token gets GitLab's default (365 days,
   * or the maximum lifetime if lower). An explicit null is not "no expires_at": it asks for none.
   */
  useDefault: boolean
  /** Rotation and duplication carry over the original's lifetime length (capped). */
  carryFrom?: { created_at: Date; expires_at: string | null }
  /** A template's default lifetime: before the policy default, capped by the maximum. */
  defaultLifetimeDays?: number
}

/** Each violation at the field it concerns, naming the policy and the knob. */
export const violationFields = (violations: PolicyViolation[]) =>
  violations.map((v) => ({ path: v.path, message: `${v.policy} (${v.knob}): ${v.message}` }))

/** An expiry refusal, naming the policy behind the limit so the owner knows whom to ask. */
export function expiryRefusal(check: { code: string; message: string }, merged: { source: string }): string {
  const source = check.code === 'expiry_beyond_max_lifetime' ? ` (set by the ${merged.source})` : check.code === 'expiry_required' ? ' (required by policy)' : ''
  return `${check.message}${source}`
}

export function createPolicyGate(deps: { db: Db; cache: PolicyCache; clock: Clock }) {
  /** Top-level groups the token reaches → the permissions it holds there. */
  async function reachOf(token: GateToken, today: string) {
    const reach = new Map<number, Set<string>>()
    const paths = new Map<number, string>()
    const add = (root: { rootId: number; rootPath: string }, perms: Iterable<string>) => {
      paths.set(root.rootId, root.rootPath)
      const held = reach.get(root.rootId) ?? new Set<string>()
      for (const p of perms) held.add(p)
      reach.set(root.rootId, held)
    }
    const broad = token.kind === 'legacy' || token.stored.some((s) => s.access === 'all_memberships')
    const memberRoots = broad ? await repo.memberRootGroups(deps.db, token.ownerId, today) : []
    if (token.kind === 'legacy') {
      const held = legacyHeld(token.legacyScopes)
      for (const root of memberRoots) add(root, held)
    } else {
      const roots = await repo.rootGroupsOf(deps.db, token.stored.flatMap((s) => (s.namespace_id !== null ? [s.namespace_id] : [])))
      for (const scope of token.stored) {
        const perms = expandPermissions(scope.permissions)
        if (scope.access === 'all_memberships') for (const root of memberRoots) add(root, perms)
        const root = scope.namespace_id !== null ? roots.get(scope.namespace_id) : undefined
        if (root) add(root, perms)
      }
    }
    const groups: GroupPolicy[] = []
    for (const id of reach.keys()) {
      const policy = await deps.cache.groupPolicy(id)
      if (policy.exists) groups.push(policy)
    }
    return { reach, paths, groups }
  }

  /**
   * What policy says of a token, without refusing anything: the violations and the expiry rules in
   * force for its reach (the stricter of the instance and every group it reaches). The preview shows
   * both to the token's owner; enforce refuses on them.
   */
  async function evaluate(token: GateToken) {
    const today = utcDate(deps.clock())
    const instance = await deps.cache.instancePolicy()
    const { reach, paths, groups } = await reachOf(token, today)
    const violations = policyViolations({ ...token, reach }, instance, groups, paths, today)
    return { today, violations, expiry: mergedExpiry(instance, groups, paths), paths, groups }
  }

  /** Refuses what policy forbids; returns the expiry the token gets. */
  async function enforce(token: GateToken, expiry: ExpiryRequest): Promise<string | null> {
    return expiryAllowed(await evaluate(token), expiry)
  }

  /**
   * A new token (creation, duplication): enforce, and the groups whose owners must approve it, from
   * one reach of the token (each reach is a statement or two; asking for both read it twice).
   */
  async function admit(token: GateToken, expiry: ExpiryRequest) {
    const evaluation = await evaluate(token)
    return { expiresAt: expiryAllowed(evaluation, expiry), approvalGroups: requiringApproval(evaluation) }
  }

  function expiryAllowed({ today, violations, expiry: merged }: Awaited<ReturnType<typeof evaluate>>, expiry: ExpiryRequest): string | null {
    if (violations.length > 0) {
      throw new AppError(
        400, 'policy_violation',
        violations.map((v) => `${v.policy}: ${v.knob}: ${v.message}`).join('; '),
        violationFields(violations),
      )
    }
    const carried = expiry.carryFrom ? carriedOverExpiry(expiry.carryFrom, merged, today) : undefined
    const fromTemplate = expiry.defaultLifetimeDays ? addDays(today, Math.min(expiry.defaultLifetimeDays, merged.maxLifetimeDays)) : undefined
    const configured = expiry.useDefault ? defaultExpiry(merged, today) : undefined
    // carried is null for an original that never expires (and nothing requires an expiry): kept as is.
    const fallback = fromTemplate ?? configured ?? (carried !== undefined ? carried : expiry.useDefault ? gitlabDefaultExpiry(merged, today) : undefined)
    const check = checkExpiry(expiry.requested, merged, today, fallback)
    if (!check.ok) throw invalidField('body.expires_at', expiryRefusal(check, merged), check.code)
    return check.expiresAt
  }

  /** The prefix of new fine-grained tokens: the instance setting, else the configured one. */
  async function tokenPrefix(configured: string): Promise<string> {
    return (await deps.cache.instancePolicy()).tokenPrefix ?? configured
  }

  /** What reuse of this token's rotated-away secret sets off: the stricter of the instance and the groups it reaches. */
  async function reuseDetection(token: GateToken): Promise<ReuseDetection> {
    const { groups } = await reachOf(token, utcDate(deps.clock()))
    return mergedReuseDetection(await deps.cache.instancePolicy(), groups)
  }

  /** The top-level groups the token reaches whose policy requires their owners' approval. */
  async function approvalGroups(token: GateToken): Promise<ApprovalGroup[]> {
    return requiringApproval(await reachOf(token, utcDate(deps.clock())))
  }

  function requiringApproval({ paths, groups }: { paths: Map<number, string>; groups: GroupPolicy[] }): ApprovalGroup[] {
    return groups.filter((g) => g.requireApproval === true).map((g) => ({ groupId: g.groupId, fullPath: paths.get(g.groupId) ?? String(g.groupId) }))
  }

  return { evaluate, enforce, admit, tokenPrefix, reuseDetection, approvalGroups }
}

export type PolicyGate = ReturnType<typeof createPolicyGate>
