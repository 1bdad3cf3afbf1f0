// Legacy → fine-grained conversion: a fine-grained successor for a live legacy token, from the
// usage recommendation (what the token was actually seen doing) or from the scopes given, created
// as any token is (validated against the catalog and directory, no broader than the caller, under
// today's policy). The legacy token keeps working for a grace period (instance setting
// legacy_conversion_grace_days, default 14) and is then revoked by the sweep
// (jobs/conversion-sweep.ts, revoke_reason converted). One transaction: the successor, the legacy
// token's grace end and the token.converted event (the outbox mails the owner).
import { actorOf, type Caller } from '../../auth/caller.js'
import type { TokenRow } from '../../db/types.js'
import type { Recommendation } from '../../domain/recommend.js'
import { graceEnd, reminderDue } from '../../domain/conversion.js'
import { addDays, DAY_MS, tokenState, utcDate } from '../../domain/dates.js'
import { expandPermissions } from '../../domain/permissions/index.js'
import type { GranularScopeRequest, StoredScope } from '../../domain/scopes.js'
import { AppError, invalidField } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { visibleToken } from './access.js'
import { presentToken } from './present.js'
import * as repo from './repository.js'
import type { ConvertInput } from './schemas.js'
import { issueToken, requireName, requireWithinCaller, TARGET, type TokenDeps, tokenAuditDetails, tokenKeys } from './service.js'
import { type NamespaceAccess } from './repository.js'
import { requireValidScopes } from './validation.js'

/** What the usage recommendation proposes for a token: scopes in GitLab's request shape, or none and why. */
export interface ConversionProposal {
  granular_scopes: GranularScopeRequest[] | null
  /** Why there is no proposal (too little evidence…), when there is none. */
  reason?: string
  summary?: string
  confidence?: string
}

/** The recommendation as the conversion uses it. */
export const conversionProposal = (r: Pick<Recommendation, 'recommended_granular_scopes' | 'reason' | 'summary' | 'confidence'>): ConversionProposal => ({
  granular_scopes: r.recommended_granular_scopes, reason: r.reason ?? undefined, summary: r.summary, confidence: r.confidence,
})

export interface ConvertDeps extends TokenDeps {
  /** The usage recommendation for a token the caller may see (recommendation.ts computeRecommendation). */
  recommend: (token: TokenRow) => Promise<ConversionProposal>
  /** The instance settings (grace days) through the policy cache. */
  instanceGraceDays: () => Promise<number>
}

const actorString = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

/** Why a token cannot be converted, or nothing. */
function refusal(token: TokenRow, now: Date, successorId: number | undefined): AppError | undefined {
  if (token.kind !== 'legacy') {
    return new AppError(409, 'not_a_legacy_token', `Token ${token.id} is already a fine-grained token; only legacy (scopes) tokens are converted. ` +
      `To narrow it, edit its granular_scopes (PATCH /api/v4/personal_access_tokens/${token.id})`)
  }
  if (successorId !== undefined || token.conversion_grace_ends_at !== null) {
    return new AppError(409, 'already_converted', `Legacy token ${token.id} was already converted: its fine-grained successor is token ${successorId}` +
      `${token.conversion_grace_ends_at ? `, and it stops working at ${token.conversion_grace_ends_at.toISOString()}` : ''}`, undefined,
    successorId !== undefined ? { successor_id: successorId } : undefined)
  }
  const state = tokenState(token, now)
  if (state !== 'active') {
    return new AppError(409, `token_${state}`, `Token ${token.id} is ${state}: there is nothing left to convert. Create a new fine-grained token instead`)
  }
  return undefined
}

/** "project acme/api", "group acme", "all memberships"…: where the successor's permissions apply, for the audit event and the mail. */
function targetsOf(stored: StoredScope[], namespaces: Map<number, NamespaceAccess>): string[] {
  const words: Record<string, string> = { personal_projects: 'your personal projects', all_memberships: 'every group and project you are a member of', user: 'your user account', instance: 'the instance (administration)' }
  return [...new Set(stored.map((s) => {
    if (s.namespace_id === null) return words[s.access] ?? s.access
    const ns = namespaces.get(s.namespace_id)
    return ns ? `${ns.kind} ${ns.full_path}` : `namespace #${s.namespace_id}`
  }))]
}

export function createConvertService(deps: ConvertDeps) {
  const { db, clock } = deps

  async function convert(caller: Caller, id: number, input: ConvertInput, ctx: AuditContext) {
    const legacy = await visibleToken(db, caller, id)
    const early = refusal(legacy, clock(), (await repo.conversionLinks(db, [legacy])).successorOf.get(legacy.id))
    if (early) throw early

    const maxGrace = await deps.instanceGraceDays()
    const graceDays = input.grace_days ?? maxGrace
    if (graceDays > maxGrace) {
      throw invalidField('body.grace_days', `must be at most ${maxGrace} days (instance setting legacy_conversion_grace_days)`, 'grace_beyond_policy')
    }

    let requested = input.granular_scopes
    let proposal: ConversionProposal | undefined
    if (requested === undefined) {
      proposal = await deps.recommend(legacy)
      if (!proposal.granular_scopes || proposal.granular_scopes.length === 0) {
        throw new AppError(422, 'insufficient_evidence', `No fine-grained scopes can be proposed for token ${legacy.id} from its recorded use: ` +
          `${proposal.reason ?? 'too little evidence'}. Send granular_scopes to choose them yourself ` +
          `(POST /api/v4/personal_access_tokens/preview with the legacy scopes shows a starting point in granular_equivalent)`)
      }
      requested = proposal.granular_scopes
    }

    const owner = await repo.findUser(db, legacy.user_id)
    if (!owner || owner.state !== 'active') throw new AppError(400, 'user_inactive', 'The token owner is not active')
    const today = utcDate(clock())
    const name = requireName(input.name ?? legacy.name)
    const scopes = await requireValidScopes(db, owner, { granular_scopes: requested }, today)
    requireWithinCaller(caller, scopes)
    const expiresAt = await deps.policies.enforce(
      { ownerId: owner.id, kind: 'fine_grained', legacyScopes: [], stored: scopes.stored },
      { requested: input.expires_at, useDefault: true, carryFrom: legacy },
    )

    const outcome = await db.transaction().execute(async (trx) => {
      // Locked: two conversions (or a conversion and a revoke) of the same token queue here.
      const locked = await repo.lockToken(trx, legacy.id)
      if (!locked) throw new AppError(404, 'not_found', `Personal access token ${legacy.id} not found`)
      const late = refusal(locked, clock(), (await repo.conversionLinks(trx, [locked])).successorOf.get(locked.id))
      if (late) throw late
      const now = clock()
      const graceEndsAt = graceEnd(now, graceDays)
      const issued = await issueToken(trx, deps, {
        owner, name, description: input.description === undefined ? legacy.description : input.description,
        kind: 'fine_grained', legacyScopes: [], stored: scopes.stored, expiresAt, createdBy: actorString(caller), convertedFromId: legacy.id,
      })
      // A grace within the reminder window: the conversion mail already names the date.
      const updated = await repo.updateToken(trx, legacy.id, { conversion_grace_ends_at: graceEndsAt, conversion_reminder_at: reminderDue(graceDays * DAY_MS) ? null : now })
      await recordAuditEvent(trx, audit(ctx, 'token.converted', { type: TARGET, id: issued.row.id }, tokenAuditDetails(issued.row, {
        converted_from_id: legacy.id, legacy_name: legacy.name, legacy_token_hint: legacy.token_hint, legacy_scopes: legacy.scopes,
        conversion_grace_ends_at: graceEndsAt.toISOString(), grace_days: graceDays, source: proposal ? 'recommendation' : 'given',
        permissions: [...expandPermissions(scopes.stored.flatMap((s) => s.permissions))].sort(),
        targets: targetsOf(scopes.stored, scopes.namespaces),
        ...(proposal?.summary ? { recommendation: proposal.summary } : {}),
      })))
      return { ...issued, updated }
    })
    await deps.invalidate(tokenKeys([outcome.row, outcome.updated]))
    const warnings = [...new Set(scopes.warnings)]
    if (legacy.expires_at !== null && legacy.expires_at < addDays(today, graceDays)) {
      // Nothing to do about it; said so that nobody waits for a revocation the expiry comes before.
      warnings.push(`The legacy token expires on ${legacy.expires_at}, before its grace period ends.`)
    }
    return presentToken(db, outcome.row, clock(), { token: outcome.secret, warnings })
  }

  return { convert }
}

export type ConvertService = ReturnType<typeof createConvertService>
