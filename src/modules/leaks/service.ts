// Leak reports: a secret scanner found strings that look like our tokens somewhere public. Each one
// that is a token this service issued is revoked with reason `leaked`, and so is every still-active
// token of its rotation family: a leaked secret — even one rotation already replaced — says where
// its owner keeps secrets (a repository, a CI log), and the successor is most likely kept there too.
// That is the family revocation reuse detection makes (tokens/reuse.ts), here without its policy
// switch: a scanner's finding in public is stronger evidence than a replayed secret.
//
// Idempotent by construction: the family is locked, only still-active tokens are revoked, and a
// report that finds nothing left to revoke records `token.leak_reported` (the audit log keeps
// every report) but mails nobody. The one mail per revoking report is `token.leaked`.
import type { Db, Trx } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import type { CacheKey } from '../../cache/policy-cache.js'
import type { Clock } from '../../domain/dates.js'
import { candidateDigests, isWellFormedToken } from '../../domain/token-format.js'
import { audit, type AuditContext, recordAuditEvent } from '../audit/service.js'
import * as repo from '../tokens/repository.js'
import { TARGET, tokenAuditDetails, tokenKeys } from '../tokens/service.js'
import type { LeakLabel, LeakReportBody } from './schemas.js'

export interface LeakDeps {
  db: Db
  peppers: readonly string[]
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
}

type Reported = LeakReportBody[number]

/** Where it was found, as recorded: never the token. */
const finding = (r: Reported) => ({ leak_url: r.url, leak_source: r.source, leak_type: r.type })

export function createLeakService(deps: LeakDeps) {
  /** The issued tokens among the reported strings, by the string (one query for the whole report). */
  async function issued(strings: string[]): Promise<Map<string, Pick<TokenRow, 'id'>>> {
    const candidates = strings.filter(isWellFormedToken) // a wrong checksum is garbage: no lookup
    if (candidates.length === 0) return new Map()
    const digestOf = new Map<string, string>()
    for (const s of candidates) for (const d of candidateDigests(deps.peppers, s)) digestOf.set(d.toString('hex'), s)
    const rows = await deps.db
      .selectFrom('personal_access_tokens')
      .select(['id', 'token_digest'])
      .where('token_digest', 'in', [...digestOf.keys()].map((h) => Buffer.from(h, 'hex')))
      .execute()
    return new Map(rows.map((r) => [digestOf.get(r.token_digest.toString('hex'))!, { id: r.id }]))
  }

  /** One reported token, in its own transaction (no lock held across tokens: no deadlock between reports). */
  async function revokeLeaked(tokenId: number, reported: Reported, ctx: AuditContext): Promise<TokenRow[]> {
    const revoked = await deps.db.transaction().execute(async (trx: Trx) => {
      const seen = await repo.findToken(trx, tokenId)
      if (!seen) return []
      const token = (await repo.lockInFamily(trx, seen))!
      const by = `${ctx.actor.type}:${ctx.actor.id}`
      const rows = await repo.revokeFamily(trx, token.family_id ?? token.id, by, 'leaked', deps.clock())
      const target = { type: TARGET, id: token.id }
      if (rows.length === 0) {
        await recordAuditEvent(trx, audit(ctx, 'token.leak_reported', target, tokenAuditDetails(token, {
          ...finding(reported), already_revoked: true, revoke_reason: token.revoke_reason,
        })))
        return []
      }
      await recordAuditEvent(trx, audit(ctx, 'token.leaked', target, tokenAuditDetails(token, {
        ...finding(reported), revoke_reason: 'leaked', revoked_token_ids: rows.map((r) => r.id),
      })))
      for (const row of rows) {
        await recordAuditEvent(trx, audit(ctx, 'token.revoked', { type: TARGET, id: row.id }, tokenAuditDetails(row, {
          revoke_reason: 'leaked', leaked_token_id: token.id, ...finding(reported),
        })))
      }
      return rows
    })
    if (revoked.length > 0) await deps.invalidate(tokenKeys(revoked))
    return revoked
  }

  /**
   * GitHub's answer: `true_positive` for a token this service issued — live until now (revoked by
   * this report) or already revoked or expired (it was real: GitHub's definition) — and
   * `false_positive` for anything else (malformed, wrong checksum, unknown).
   */
  async function report(entries: LeakReportBody, ctx: AuditContext): Promise<LeakLabel[]> {
    const found = await issued([...new Set(entries.map((e) => e.token))])
    const handled = new Set<string>() // the same string twice in one report: one revocation, one event
    const labels: LeakLabel[] = []
    for (const entry of entries) {
      const token = found.get(entry.token)
      if (token && !handled.has(entry.token)) {
        handled.add(entry.token)
        await revokeLeaked(token.id, entry, ctx)
      }
      labels.push({ token_raw: entry.token, token_type: entry.type, label: token ? 'true_positive' : 'false_positive' })
    }
    return labels
  }

  return { report }
}
