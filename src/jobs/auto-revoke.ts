// Revokes tokens nobody has used for longer than `days` (last_used_at, or created_at for a token
// never used). Each batch is one statement: revoke (bumping `version`, so every cache tier sees a
// newer state) and write the token.revoked audit event the outbox turns into a mail. The caller's
// `invalidate` then pushes the new state to the hot-path caches, as the API does after a revoke.
//
// `days` is a plain number for now; a later issue derives it per token from instance and group
// policy (DESIGN §4 "auto-revoke after N unused days").
import { sql } from 'kysely'
import type { CacheKey } from '../cache/policy-cache.js'
import type { Db } from '../db/index.js'
import { type Clock, utcDate } from '../domain/dates.js'
import { tokensAutoRevoked } from './metrics.js'

export interface AutoRevokeOptions {
  db: Db
  clock: Clock
  days: number
  invalidate: (keys: CacheKey[]) => Promise<void>
  batchSize?: number
  signal?: AbortSignal
}

export async function revokeUnusedTokens(opts: AutoRevokeOptions): Promise<{ revoked: number; aborted: boolean }> {
  if (opts.days <= 0) return { revoked: 0, aborted: false }
  const now = opts.clock()
  const today = utcDate(now)
  const cutoff = new Date(now.getTime() - opts.days * 86_400_000)
  const batch = opts.batchSize ?? 1000
  let after = 0
  let revoked = 0
  for (;;) {
    if (opts.signal?.aborted) return { revoked, aborted: true }
    const { rows } = await sql<{ id: number; token_digest: Buffer }>`
      with stale as (
        select id from personal_access_tokens
        where revoked_at is null
          and (expires_at is null or expires_at > ${today}::date)
          and coalesce(last_used_at, created_at) < ${cutoff}::timestamptz
          and id > ${after}::bigint
        order by id
        limit ${batch}
        -- a token being edited or used right now is skipped; the next sweep looks again
        for update skip locked
      ),
      revoked as (
        update personal_access_tokens p
        set revoked_at = ${now}::timestamptz, revoked_by = 'system:auto_revoke', revoke_reason = 'unused',
            updated_at = now(), version = p.version + 1
        from stale
        where p.id = stale.id
        returning p.id, p.user_id, p.name, p.token_hint, p.kind, p.expires_at, p.last_used_at, p.token_digest
      ),
      audited as (
        insert into audit_events (occurred_at, actor_type, actor_id, action, target_type, target_id, details)
        select ${now}::timestamptz, 'system', 'auto_revoke', 'token.revoked', 'personal_access_token', id::text,
          jsonb_build_object('user_id', user_id, 'name', name, 'token_hint', token_hint, 'kind', kind, 'expires_at', expires_at,
            'revoke_reason', 'unused', 'unused_days', ${opts.days}::int, 'last_used_at', last_used_at)
        from revoked
      )
      select id, token_digest from revoked
    `.execute(opts.db)
    if (rows.length > 0) {
      revoked += rows.length
      tokensAutoRevoked.inc(rows.length)
      after = Math.max(after, ...rows.map((r) => r.id))
      await opts.invalidate(rows.map((r) => ({ kind: 'tok', digest: r.token_digest })))
    }
    if (rows.length < batch) return { revoked, aborted: false }
  }
}
