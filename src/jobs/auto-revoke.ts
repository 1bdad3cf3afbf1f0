// Revokes tokens nobody has used for longer than policy allows (last_used_at, or created_at for a
// token never used). The limit of a token is the strictest (smallest) of:
//   - AUTO_REVOKE_UNUSED_DAYS (configuration): the operator's instance-wide bound. It always
//     applies, so instance settings and group policies can tighten it but never loosen it;
//   - instance_settings.auto_revoke_unused_days;
//   - auto_revoke_unused_days of the policy of every top-level group the token reaches.
// 0 / null is "off" for that source. DESIGN §4 "auto-revoke after N unused days".
//
// Which top-level groups a token reaches (the same reach governance uses for blocked permissions):
//   - selected_memberships scopes: the root of each scoped namespace;
//   - all_memberships scopes and legacy tokens: the roots of the owner's live memberships, because
//     such a token acts wherever its owner is a member, so each of those groups' rules applies;
//   - personal_projects, user and instance scopes reach no group (their root is a user namespace).
//
// Each batch is one statement (its own transaction): pick the next candidates by id (keyset),
// compute each one's strictest limit set-based, revoke the stale ones (bumping `version`, so every
// cache tier sees a newer state) and write their token.revoked audit events, which the outbox
// turns into mails. The caller's `invalidate` then pushes the new state to the hot-path caches.
import { sql } from 'kysely'
import type { CacheKey } from '../cache/policy-cache.js'
import type { Db } from '../db/index.js'
import { type Clock, DAY_MS, utcDate } from '../domain/dates.js'
import { tokensAutoRevoked } from './metrics.js'

export interface AutoRevokeOptions {
  db: Db
  clock: Clock
  /** AUTO_REVOKE_UNUSED_DAYS; 0: no bound from configuration. */
  configuredDays: number
  invalidate: (keys: CacheKey[]) => Promise<void>
  batchSize?: number
  signal?: AbortSignal
}

/** The loosest limit any source sets (null: auto-revocation is off everywhere). */
async function loosestLimit(db: Db, configuredDays: number): Promise<number | null> {
  // least() ignores nulls: a limit exists as soon as one source sets one.
  const { rows } = await sql<{ days: number | null }>`
    select least(nullif(${configuredDays}::int, 0),
      (select auto_revoke_unused_days from instance_settings where id = 1),
      (select min(auto_revoke_unused_days) from group_token_policies)) as days`.execute(db)
  return rows[0]?.days ?? null
}

export async function revokeUnusedTokens(opts: AutoRevokeOptions): Promise<{ revoked: number; aborted: boolean }> {
  const minDays = await loosestLimit(opts.db, opts.configuredDays)
  if (minDays === null) return { revoked: 0, aborted: false }
  const now = opts.clock()
  const today = utcDate(now)
  // Only tokens idle longer than the smallest limit anywhere can be due: a cheap first filter.
  const candidatesBefore = new Date(now.getTime() - minDays * DAY_MS)
  const batch = opts.batchSize ?? 1000
  let after = 0
  let revoked = 0
  for (;;) {
    if (opts.signal?.aborted) return { revoked, aborted: true }
    const { rows } = await sql<{ id: number; token_digest: Buffer | null }>`
      with candidates as (
        select id, user_id, kind, coalesce(last_used_at, created_at) as idle_since
        from personal_access_tokens
        where revoked_at is null
          and (expires_at is null or expires_at > ${today}::date)
          and coalesce(last_used_at, created_at) < ${candidatesBefore}::timestamptz
          and id > ${after}::bigint
        order by id
        limit ${batch}
        -- a token being edited or used right now is skipped; the next sweep looks again
        for update skip locked
      ),
      reached as (
        select c.id as token_id, n.traversal_ids[1] as group_id
        from candidates c
        join personal_access_token_scopes s on s.token_id = c.id and s.access = 'selected_memberships'
        join namespaces n on n.id = s.namespace_id
        union
        select c.id, n.traversal_ids[1]
        from candidates c
        join memberships m on m.user_id = c.user_id and (m.expires_at is null or m.expires_at > ${today}::date)
        join namespaces n on n.id = m.namespace_id
        where c.kind = 'legacy'
          or exists (select 1 from personal_access_token_scopes s where s.token_id = c.id and s.access = 'all_memberships')
      ),
      limits as (
        -- rank breaks ties between equal limits: the broadest source is named
        select c.id as token_id, ${opts.configuredDays}::int as days, 'configuration' as source, 'AUTO_REVOKE_UNUSED_DAYS' as policy,
          null::bigint as group_id, 0 as rank
        from candidates c where ${opts.configuredDays}::int > 0
        union all
        select c.id, i.auto_revoke_unused_days, 'instance_settings', 'instance settings', null, 1
        from candidates c cross join instance_settings i where i.id = 1 and i.auto_revoke_unused_days is not null
        union all
        select r.token_id, g.auto_revoke_unused_days, 'group_policy', 'group ' || ns.full_path || ' (' || ns.id || ') policy', ns.id, 2
        from reached r join group_token_policies g on g.namespace_id = r.group_id join namespaces ns on ns.id = g.namespace_id
        where g.auto_revoke_unused_days is not null
      ),
      strictest as (
        select distinct on (token_id) token_id, days, source, policy, group_id from limits order by token_id, days, rank
      ),
      stale as (
        select c.id, l.days, l.source, l.policy, l.group_id
        from candidates c join strictest l on l.token_id = c.id
        where c.idle_since < ${now}::timestamptz - l.days * interval '24 hours'
      ),
      revoked as (
        update personal_access_tokens p
        set revoked_at = ${now}::timestamptz, revoked_by = 'system:auto_revoke', revoke_reason = 'unused',
            updated_at = now(), version = p.version + 1
        from stale
        where p.id = stale.id
        returning p.id, p.user_id, p.name, p.token_hint, p.kind, p.expires_at, p.last_used_at, p.token_digest,
          stale.days, stale.source, stale.policy, stale.group_id
      ),
      audited as (
        -- namespace_id: a group policy's revocations show in that group's audit log
        insert into audit_events (occurred_at, actor_type, actor_id, action, target_type, target_id, namespace_id, details)
        select ${now}::timestamptz, 'system', 'auto_revoke', 'token.revoked', 'personal_access_token', id::text, group_id,
          jsonb_build_object('user_id', user_id, 'name', name, 'token_hint', token_hint, 'kind', kind, 'expires_at', expires_at,
            'revoke_reason', 'unused', 'unused_days', days, 'last_used_at', last_used_at,
            'policy', policy, 'policy_source', source, 'policy_knob', 'auto_revoke_unused_days', 'policy_group_id', group_id)
        from revoked
      )
      select c.id, r.token_digest from candidates c left join revoked r on r.id = c.id
    `.execute(opts.db)
    const digests = rows.flatMap((r) => (r.token_digest ? [r.token_digest] : []))
    if (digests.length > 0) {
      revoked += digests.length
      tokensAutoRevoked.inc(digests.length)
      await opts.invalidate(digests.map((digest) => ({ kind: 'tok', digest })))
    }
    if (rows.length < batch) return { revoked, aborted: false }
    after = Math.max(after, ...rows.map((r) => Number(r.id)))
  }
}
