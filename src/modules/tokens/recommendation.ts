// Least-privilege recommendations: what a token was seen doing (token_usage_daily) turned into the
// smallest granular scopes that would have allowed it (src/domain/recommend.ts decides), previewed,
// and applied in one call through the ordinary edit (validated, policy-checked, audited, mailed).
import type { Caller } from '../../auth/caller.js'
import type { TokenRow } from '../../db/types.js'
import { graceEnd } from '../../domain/conversion.js'
import { addDays, tokenState, utcDate } from '../../domain/dates.js'
import { type Recommendation, recommend, type Verdict, verdictFromEvidence } from '../../domain/recommend.js'
import type { StoredScope } from '../../domain/scopes.js'
import { AppError } from '../../http/errors.js'
import type { AuditContext } from '../audit/service.js'
import { visibleToken } from './access.js'
import type { LifecycleService } from './lifecycle.js'
import { type ReachService, reachOf } from './reach.js'
import { allowedDays, countReach, evidenceOf, namespaceFacts, usageInWindow } from './recommendation-queries.js'
import * as repo from './repository.js'
import type { TokenDeps } from './service.js'

export const DEFAULT_WINDOW_DAYS = 30

/**
 * Distinct (permission, namespace) pairs read per recommendation. A job's pattern is a few dozen; a
 * broad token used across thousands of projects gets no recommendation rather than one built from
 * part of its evidence (and the request stays bounded).
 */
export const MAX_USAGE_PAIRS = 5000

/** The window of `days` days ending today (UTC), as the usage table's days. */
export function windowOf(today: string, days: number) {
  return { days, since: addDays(today, -(days - 1)), until: today }
}

/**
 * The recommendation for a token from its last `days` days of use, with the token's version it was
 * computed from. No access check: callers check that (visibleToken) first. The conversion of legacy
 * tokens reuses this.
 */
export async function computeRecommendation(deps: Pick<TokenDeps, 'db' | 'clock'>, token: TokenRow, days = DEFAULT_WINDOW_DAYS): Promise<Recommendation & { version: number }> {
  const { db } = deps
  const now = deps.clock()
  const today = utcDate(now)
  const window = windowOf(today, days)
  const [owner, scopeRows, usage, daysSeen] = await Promise.all([
    repo.findUser(db, token.user_id),
    repo.scopesOf(db, [token.id]),
    usageInWindow(db, token.id, window.since, window.until, MAX_USAGE_PAIRS + 1),
    allowedDays(db, token.id, window.since, window.until),
  ])
  const stored: StoredScope[] = (scopeRows.get(token.id) ?? []).map((s) => ({ access: s.access, namespace_id: s.namespace_id, permissions: s.permissions }))
  const reach = reachOf(token.kind, stored)
  const ids = [...usage.map((u) => u.namespace_id), ...stored.map((s) => s.namespace_id ?? 0)].filter((id) => id > 0)
  const [namespaces, currentReach] = await Promise.all([namespaceFacts(db, token.user_id, reach, today, ids), countReach(db, token.user_id, reach, today)])
  const incomplete = usage.length > MAX_USAGE_PAIRS
    ? `Too much distinct use to weigh here: more than ${MAX_USAGE_PAIRS} (permission, namespace) pairs in the last ${days} days. Ask for a shorter window with ?days=.`
    : undefined
  const recommendation = recommend({
    token: { kind: token.kind, scopes: stored, legacy_scopes: token.scopes, owner_is_admin: owner?.is_admin ?? false },
    usage: usage.slice(0, MAX_USAGE_PAIRS), allowed_days: daysSeen, namespaces, current_reach: currentReach, window, now,
    ...(incomplete ? { incomplete } : {}),
  })
  return { ...recommendation, version: Number(token.version) }
}

/**
 * The verdicts of a page of tokens' recommendations, in their order (the legacy report's column).
 * One query weighs every token's evidence; only tokens with enough use for a recommendation get
 * the whole computation (its six queries): the others' verdict is the evidence's alone, the same
 * words computeRecommendation would give.
 */
export async function computeVerdicts(deps: Pick<TokenDeps, 'db' | 'clock'>, tokens: TokenRow[], days = DEFAULT_WINDOW_DAYS): Promise<Verdict[]> {
  const window = windowOf(utcDate(deps.clock()), days)
  const evidence = await evidenceOf(deps.db, tokens.map((t) => t.id), window.since, window.until)
  return Promise.all(tokens.map(async (token) => {
    const e = evidence.get(token.id) ?? { allowed: 0, denied: 0, days: 0, pairs: 0 }
    // Past MAX_USAGE_PAIRS the recommendation answers "too much use to weigh" instead: let it.
    const verdict = e.pairs <= MAX_USAGE_PAIRS ? verdictFromEvidence(e, days) : undefined
    if (verdict) return verdict
    const { confidence, summary, recommended_granular_scopes, reason } = await computeRecommendation(deps, token, days)
    return { confidence, summary, recommended_granular_scopes, reason }
  }))
}

export interface ApplyInput {
  days?: number
  expected_version?: number
}

export function createRecommendationService(
  deps: TokenDeps,
  services: { lifecycle: LifecycleService; reach: ReachService; instanceGraceDays: () => Promise<number> },
) {
  /** What converting would do now, for a live legacy token not converted yet (the console previews it before creating anything). */
  async function conversionOf(token: TokenRow) {
    if (token.kind !== 'legacy' || token.conversion_grace_ends_at !== null || tokenState(token, deps.clock()) !== 'active') return null
    const graceDays = await services.instanceGraceDays()
    return { grace_days: graceDays, grace_ends_at: graceEnd(deps.clock(), graceDays).toISOString(), path: `/api/v4/personal_access_tokens/${token.id}/convert` }
  }

  /** Why applying is not possible now, or undefined when it is. */
  function applyBlocker(token: TokenRow, rec: Recommendation): { status: number; code: string; detail: string } | undefined {
    const state = tokenState(token, deps.clock())
    if (state !== 'active') return { status: 400, code: `token_${state}`, detail: `Token ${token.id} is ${state} and cannot be edited` }
    if (rec.recommended_granular_scopes === null) return { status: 422, code: 'insufficient_evidence', detail: rec.reason ?? 'Nothing to recommend' }
    if (token.kind === 'legacy') {
      return {
        status: 409, code: 'legacy_token',
        detail: 'A legacy token\'s scopes cannot be edited: convert it to a fine-grained token with these granular_scopes ' +
          `(POST /api/v4/personal_access_tokens/${token.id}/convert, or /duplicate with granular_scopes) instead`,
      }
    }
    if (rec.already_least_privilege) return { status: 409, code: 'already_least_privilege', detail: `Token ${token.id} already holds exactly what it used: nothing to apply` }
    return undefined
  }

  async function show(caller: Caller, id: number, days = DEFAULT_WINDOW_DAYS) {
    const token = await visibleToken(deps.db, caller, id)
    const rec = await computeRecommendation(deps, token, days)
    const preview = rec.recommended_granular_scopes
      ? await services.reach.preview(caller, { user_id: token.user_id, granular_scopes: rec.recommended_granular_scopes })
      : null
    const blocker = applyBlocker(token, rec)
    return {
      token_id: token.id,
      kind: token.kind,
      ...rec,
      preview,
      conversion: await conversionOf(token),
      apply: {
        available: blocker === undefined,
        ...(blocker ? { why_not: blocker.detail } : {}),
        method: 'POST' as const,
        path: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`,
        body: { days, expected_version: rec.version },
        description: 'Replaces the token\'s granular scopes with recommended_granular_scopes through the ordinary edit (PATCH /personal_access_tokens/:id): ' +
          'validated, checked against policy, audited (source: recommendation) and mailed. The secret stays. expected_version refuses it (409) if the token changed since.',
      },
    }
  }

  async function apply(caller: Caller, id: number, input: ApplyInput, ctx: AuditContext) {
    const token = await visibleToken(deps.db, caller, id)
    const days = input.days ?? DEFAULT_WINDOW_DAYS
    if (input.expected_version !== undefined && input.expected_version !== Number(token.version)) {
      throw new AppError(409, 'stale_version', `Token ${token.id} changed since version ${input.expected_version} (it is at version ${token.version}): ask for its recommendation again and apply that`)
    }
    const rec = await computeRecommendation(deps, token, days)
    const blocker = applyBlocker(token, rec)
    if (blocker) throw new AppError(blocker.status, blocker.code, blocker.detail)
    const scopes = rec.recommended_granular_scopes!
    const updated = await services.lifecycle.update(caller, token.id, { granular_scopes: scopes }, ctx, {
      expectedVersion: rec.version,
      auditDetails: {
        source: 'recommendation',
        recommendation: { days, since: rec.window.since, confidence: rec.confidence, evidence: rec.evidence, summary: rec.summary },
      },
    })
    return { token: updated, applied_granular_scopes: scopes, summary: rec.summary, confidence: rec.confidence }
  }

  return { show, apply }
}

export type RecommendationService = ReturnType<typeof createRecommendationService>
