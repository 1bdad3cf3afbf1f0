// Reuse detection on presentation (issue 13): a secret that rotation replaced is presented again —
// as an API credential, to /authorize (single or batch) or to introspection. Its owner rotated it
// away, so whoever still holds it has a copy: the real sign of a leak (RFC 9700 §4.14.2; GitLab
// revokes the token family exactly then).
//
// The request that presented it is answered at once and as before (401 / token_revoked / inactive):
// the hot path only calls report(), which returns immediately. The work follows here, in the
// background, in one transaction: an audit event `token.reuse_detected` with the presenting IP
// (the outbox turns it into the owner's security alert), and, when policy says revoke_family (the
// stricter of the instance and the groups the token reaches), every still-active token of the
// rotation family revoked with reason reuse_detected, then the caches told.
//
// Bounded, because an attacker controls how often this runs: one report per token per
// REPORT_INTERVAL_MS in each process (an LRU of recent reports), at most MAX_IN_FLIGHT
// transactions at a time (more are dropped: the next presentation reports again), and across
// processes one recorded event per token per ALERT_INTERVAL_MS (the transaction locks the token row
// and looks for a recent event first). A crash between the answer and the transaction loses that
// report only; the next presentation of the same secret makes it again.
import { ttlLru } from '../../cache/ttl-lru.js'
import type { Trx } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { audit, recordAuditEvent } from '../audit/service.js'
import * as repo from './repository.js'
import { TARGET, type TokenDeps, tokenAuditDetails, tokenKeys } from './service.js'

export type PresentedVia = 'api' | 'authorize' | 'introspection' | 'rotate'

export interface ReusePresentation {
  tokenId: number
  ip: string | null | undefined
  via: PresentedVia
  requestId?: string | null
  /** Who presented it, when known (a rotate request's caller); otherwise reuse detection itself. */
  actor?: { type: string; id: string | null }
}

export const REPORT_INTERVAL_MS = 60_000
export const ALERT_INTERVAL_MS = 10 * 60_000
const MAX_IN_FLIGHT = 4
const ACTOR = { type: 'system', id: 'reuse_detection' }

export interface ReuseOutcome {
  /** Nothing recorded: the token is not rotated away, or reuse was recorded moments ago. */
  recorded: boolean
  response?: 'revoke_family' | 'notify'
  revoked: TokenRow[]
}

/**
 * Records one reuse inside `trx` (which holds the reused token's row lock): the alert event and,
 * by policy, the family revocation. The rotate endpoint calls it in its own transaction too.
 */
export async function recordReuse(trx: Trx, deps: Pick<TokenDeps, 'policies' | 'clock'>, token: TokenRow, p: ReusePresentation): Promise<ReuseOutcome> {
  const now = deps.clock()
  if (await repo.reuseRecordedSince(trx, token.id, new Date(now.getTime() - ALERT_INTERVAL_MS))) return { recorded: false, revoked: [] }
  const scopes = ((await repo.scopesOf(trx, [token.id])).get(token.id) ?? []).map((s) => ({ access: s.access, namespace_id: s.namespace_id, permissions: s.permissions }))
  const response = await deps.policies.reuseDetection({ ownerId: token.user_id, kind: token.kind, legacyScopes: token.scopes, stored: scopes })
  const actor = p.actor ?? ACTOR
  const ctx = { actor, ip: p.ip ?? null, requestId: p.requestId ?? null }
  const revoked = response === 'revoke_family' ? await repo.revokeFamily(trx, token.family_id ?? token.id, `${actor.type}:${actor.id}`, 'reuse_detected', now) : []
  await recordAuditEvent(trx, audit(ctx, 'token.reuse_detected', { type: TARGET, id: token.id }, tokenAuditDetails(token, {
    presented_via: p.via, presented_ip: p.ip ?? null, response, revoked_token_ids: revoked.map((r) => r.id), rotated_at: token.revoked_at?.toISOString() ?? null,
  })))
  for (const row of revoked) {
    await recordAuditEvent(trx, audit(ctx, 'token.revoked', { type: TARGET, id: row.id }, tokenAuditDetails(row, { revoke_reason: 'reuse_detected', reused_token_id: token.id, presented_via: p.via })))
  }
  return { recorded: true, response, revoked }
}

export class ReuseReporter {
  private readonly recent = ttlLru<number, true>(10_000, REPORT_INTERVAL_MS)
  private readonly inFlight = new Set<Promise<void>>()

  constructor(
    private readonly deps: Pick<TokenDeps, 'db' | 'policies' | 'clock' | 'invalidate'> & {
      log: { warn: (obj: object, msg: string) => void }
      /** ROTATION_RETRY_LEEWAY: how long after a self-rotation the old secret is still the same client's. */
      selfRotationGraceMs: number
    },
  ) {}

  /** From the hot path: returns at once, never throws. */
  report(p: ReusePresentation): void {
    if (this.recent.has(p.tokenId)) return
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      this.deps.log.warn({ tokenId: p.tokenId }, 'reuse detection busy; this presentation is not recorded (the next one will be)')
      return
    }
    this.recent.set(p.tokenId, true)
    const run = this.handle(p).catch((err: Error) => {
      this.recent.delete(p.tokenId) // not recorded: let the next presentation try again
      this.deps.log.warn({ err: err.message, tokenId: p.tokenId }, 'reuse detection failed; the next presentation retries')
    })
    this.inFlight.add(run)
    void run.finally(() => this.inFlight.delete(run))
  }

  /** Tests and shutdown: wait for the reports in flight. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight])
  }

  private async handle(p: ReusePresentation): Promise<void> {
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const seen = await repo.findToken(trx, p.tokenId)
      if (!seen) return undefined
      const token = await repo.lockInFamily(trx, seen)
      if (!token || token.revoke_reason !== 'rotated' || !token.revoked_at) return undefined
      // A token that rotated itself moments ago: the client's own requests still in flight with the
      // old secret (or its retry of the rotation), not a copy elsewhere.
      if (token.revoked_by === `token:${token.id}` && this.deps.clock().getTime() - token.revoked_at.getTime() <= this.deps.selfRotationGraceMs) return 'grace' as const
      return recordReuse(trx, this.deps, token, p)
    })
    if (outcome === 'grace') this.recent.delete(p.tokenId) // a presentation after the grace must be reported
    if (outcome === undefined || outcome === 'grace' || !outcome.recorded) return
    this.deps.log.warn({ tokenId: p.tokenId, via: p.via, response: outcome.response, revoked: outcome.revoked.length }, 'rotated-away token presented again: reuse recorded')
    if (outcome.revoked.length > 0) await this.deps.invalidate(tokenKeys(outcome.revoked))
  }
}
