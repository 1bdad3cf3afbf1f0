// The legacy report: what an administrator (the instance) or a group owner (the tokens reaching
// the group, as the group inventory counts reach: scoped on it, below or above it, and the legacy
// tokens of members of any of those) needs before enforcing fine-grained tokens. Each live legacy
// token with its owner, last use, conversion status and the usage recommendation for it; and a
// summary: how many there are, used lately, with a proposal, being converted, and how many would
// stop working at the cut-off (the group's enforce_fine_grained_from, the instance's
// legacy_tokens_blocked_from, or ?cutoff= to ask "what if").
import { sql } from 'kysely'
import type { Caller } from '../../auth/caller.js'
import type { Db } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { addDays, type Clock, DAY_MS, utcDate } from '../../domain/dates.js'
import type { GroupPolicy, InstancePolicy } from '../../domain/policy.js'
import type { GranularScopeRequest } from '../../domain/scopes.js'
import type { ManagedGroup } from '../policies/access.js'
import { type InventoryFilters, inventoryWhere } from './repository.js'
import type { LegacyReportQueryInput } from './schemas.js'
import { bucketsAnswer } from './summary.js'

/** What the usage recommendation says of one token (no caller check: the report decided who may see it). */
export interface TokenProposal {
  confidence: string
  summary: string
  recommended_granular_scopes: GranularScopeRequest[] | null
  reason: string | null
}

/** The evidence a proposal needs (the recommendation's own thresholds), for counting without computing each one. */
export interface ProposalThreshold {
  minAllowed: number
  minDays: number
  windowDays: number
}

export interface LegacyReportDeps {
  db: Db
  clock: Clock
  /** Who may see which tokens: the inventory's own access rule (admins: all; group owners: the group's reach; 404/403 otherwise). */
  scope: (caller: Caller, groupId: number | undefined) => Promise<InventoryFilters & { group?: ManagedGroup }>
  /** The proposals for a page of tokens, in its order (one evidence query for the page; see computeVerdicts). */
  proposals: (tokens: TokenRow[]) => Promise<TokenProposal[]>
  threshold: ProposalThreshold
  instancePolicy: () => Promise<InstancePolicy>
  groupPolicy: (rootGroupId: number) => Promise<GroupPolicy>
}

const RECENT_DAYS = 30
/** Up to this many tokens in a group's report, its reach set is built once and passed as ids. */
const MAX_SHARED_REACH = 5000

/**
 * A group owner sees a proposal only where it concerns the group (the group, what is below it, or
 * the groups above it): the scopes naming other groups and projects are left out and counted, so
 * the report never shows them namespaces outside their group.
 */
async function withinGroup(db: Db, group: ManagedGroup, scopes: GranularScopeRequest[]): Promise<{ scopes: GranularScopeRequest[]; hidden: number }> {
  const ids = scopes.flatMap((s) => [...(s.group_ids ?? []), ...(s.project_ids ?? []), ...(s.group_id ? [s.group_id] : []), ...(s.project_id ? [s.project_id] : [])])
  if (ids.length === 0) return { scopes, hidden: 0 }
  const rows = await db.selectFrom('namespaces').select(['id', 'traversal_ids']).where('id', 'in', [...new Set(ids)]).execute()
  const visible = new Set(rows.filter((n) => n.traversal_ids.includes(group.id) || group.traversal_ids.includes(n.id)).map((n) => n.id))
  let hidden = 0
  const kept: GranularScopeRequest[] = []
  for (const s of scopes) {
    const keep = (list: number[] | undefined) => {
      if (!list) return undefined
      hidden += list.filter((id) => !visible.has(id)).length
      return list.filter((id) => visible.has(id))
    }
    const single = (id: number | null | undefined) => (id == null ? id : visible.has(id) ? id : (hidden++, undefined))
    const next: GranularScopeRequest = { access: s.access, permissions: s.permissions }
    const groups = keep(s.group_ids)
    const projects = keep(s.project_ids)
    if (groups?.length) next.group_ids = groups
    if (projects?.length) next.project_ids = projects
    const g = single(s.group_id)
    const p = single(s.project_id)
    if (g) next.group_id = g
    if (p) next.project_id = p
    const named = s.group_ids || s.project_ids || s.group_id != null || s.project_id != null
    if (!named || next.group_ids || next.project_ids || next.group_id || next.project_id) kept.push(next)
  }
  return { scopes: kept, hidden }
}

export function createLegacyReportService(deps: LegacyReportDeps) {
  const { db, clock } = deps

  /** The cut-off asked about: ?cutoff=, else the group's (its top-level group's) or the instance's enforcement date. */
  async function cutoffOf(group: ManagedGroup | undefined, asked: string | undefined) {
    const policy = group ? (await deps.groupPolicy(group.traversal_ids[0])).enforceFineGrainedFrom : (await deps.instancePolicy()).legacyTokensBlockedFrom
    if (asked) return { policy, date: asked, source: 'query' as const }
    if (policy) return { policy, date: policy, source: group ? 'group_policy' as const : 'instance_settings' as const }
    return { policy, date: null, source: null }
  }

  /**
   * The instance's summary (no group, no other filter): every live legacy token, ~5% of the table
   * scattered through it, too many to read per report. The total and the expiry arithmetic come
   * from pat_inventory_counts (exact, kept by triggers: summary.ts); the few tokens being
   * converted (pat_conversion_grace) correct the cut-off count; recent use is a range of
   * pat_live_legacy_last_used (migration 0016), read from the index alone.
   */
  async function instanceSummary(cutoff: string | null) {
    const now = clock()
    const today = utcDate(now)
    const since = addDays(today, -(deps.threshold.windowDays - 1))
    const live = sql`t.kind = 'legacy' and t.revoked_at is null and (t.expires_at is null or t.expires_at > ${today}::date)`
    const liveBuckets = sql`kind = 'legacy' and not revoked and expires_on > ${today}::date`
    const { rows } = await sql<{ total: string | null; recent: string; converting: string; stopping: string | null; proposals: string }>`
      select
        (select sum(tokens) from pat_inventory_counts where ${liveBuckets}) as total,
        (select count(*) from personal_access_tokens t where ${live} and t.last_used_at >= ${new Date(now.getTime() - RECENT_DAYS * DAY_MS)}::timestamptz) as recent,
        (select count(*) from personal_access_tokens t where ${live} and t.conversion_grace_ends_at is not null) as converting,
        case when ${cutoff}::date is null then null else
          (select coalesce(sum(tokens), 0) from pat_inventory_counts where ${liveBuckets} and expires_on > ${cutoff}::date)
          -- live past the cut-off by expiry, but revoked by then when its conversion's grace ends
          - (select count(*) from personal_access_tokens t where ${live} and t.conversion_grace_ends_at is not null
              and (t.expires_at is null or t.expires_at > ${cutoff}::date) and t.conversion_grace_ends_at <= ${cutoff}::date::timestamp at time zone 'UTC') end as stopping,
        (select count(*) from (
          select u.token_id from token_usage_daily u join personal_access_tokens t on t.id = u.token_id
          where u.day >= ${since}::date and ${live}
          group by u.token_id
          having sum(u.allowed) >= ${deps.threshold.minAllowed} and count(distinct u.day) filter (where u.allowed > 0) >= ${deps.threshold.minDays}) e) as proposals`.execute(db)
    const r = rows[0]
    return { total: Number(r.total ?? 0), recent: Number(r.recent), converting: Number(r.converting), stopping: r.stopping === null ? null : Number(r.stopping), proposals: Number(r.proposals) }
  }

  async function summary(f: InventoryFilters, cutoff: string | null) {
    if (bucketsAnswer(f) && !f.expiresBefore && !f.neverUsed) return instanceSummary(cutoff)
    const now = clock()
    const since = addDays(utcDate(now), -(deps.threshold.windowDays - 1))
    const live = db.selectFrom('personal_access_tokens').select(['id', 'expires_at', 'last_used_at', 'conversion_grace_ends_at']).where(inventoryWhere(f, utcDate(now), { reachFirst: true }))
    const { rows } = await sql<{ total: string; recent: string; converting: string; stopping: string | null; proposals: string }>`
      with live as (${live}),
      evidence as (
        select u.token_id from token_usage_daily u
        where u.token_id in (select id from live) and u.day >= ${since}::date
        group by u.token_id
        having sum(u.allowed) >= ${deps.threshold.minAllowed} and count(distinct u.day) filter (where u.allowed > 0) >= ${deps.threshold.minDays}
      )
      select count(*) as total,
        count(*) filter (where last_used_at >= ${new Date(now.getTime() - RECENT_DAYS * DAY_MS)}::timestamptz) as recent,
        count(*) filter (where conversion_grace_ends_at is not null) as converting,
        -- still live at the cut-off: not expired by then (expires_at is the first day it no longer works), nor revoked by a conversion's grace
        case when ${cutoff}::date is null then null else count(*) filter (where (expires_at is null or expires_at > ${cutoff}::date)
          and (conversion_grace_ends_at is null or conversion_grace_ends_at > ${cutoff}::date::timestamp at time zone 'UTC')) end as stopping,
        (select count(*) from evidence) as proposals
      from live`.execute(db)
    const r = rows[0]
    return { total: Number(r.total), recent: Number(r.recent), converting: Number(r.converting), stopping: r.stopping === null ? null : Number(r.stopping), proposals: Number(r.proposals) }
  }

  async function report(caller: Caller, groupId: number | undefined, q: LegacyReportQueryInput) {
    const scope = await deps.scope(caller, groupId)
    let f: InventoryFilters = { ...scope, kind: 'legacy', state: 'active' }
    const group = scope.group
    if (group) {
      // The group's live legacy tokens are found once; the summary and the page then read them by
      // primary key, instead of each calling the reach function and filtering it again. Since the
      // reach became a PL/pgSQL function (migration 0018) its plan is kept, so this saves only the
      // second run; letting each statement call it measured no faster (bench/README.md). A group
      // reaching very many falls back to building it in each statement.
      const found = await db.selectFrom('personal_access_tokens').select('id').where(inventoryWhere(f, utcDate(clock()), { reachFirst: true })).limit(MAX_SHARED_REACH + 1).execute()
      if (found.length <= MAX_SHARED_REACH) f = { kind: 'legacy', state: 'active', tokenIds: found.map((r) => Number(r.id)) }
    }
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const cutoff = await cutoffOf(group, q.cutoff)
    const counts = await summary(f, cutoff.date)
    const rows = await db.selectFrom('personal_access_tokens')
      .innerJoin('users', 'users.id', 'personal_access_tokens.user_id')
      .selectAll('personal_access_tokens')
      .select(['users.username as owner_username', 'users.name as owner_name'])
      // Its fine-grained successor, if converting (unique: pat_converted_from), on the page's own query.
      .select(sql<number | null>`(select s.id from personal_access_tokens s where s.converted_from_id = personal_access_tokens.id)`.as('successor_id'))
      .where(inventoryWhere(f, utcDate(clock()), { reachFirst: true }))
      .orderBy('personal_access_tokens.last_used_at', (ob) => ob.desc().nullsLast())
      .orderBy('personal_access_tokens.id', 'desc')
      .limit(perPage).offset((page - 1) * perPage)
      .execute()
    const proposals = await deps.proposals(rows)
    const tokens = []
    for (const [i, row] of rows.entries()) {
      const p = proposals[i]
      const visible = group && p.recommended_granular_scopes ? await withinGroup(db, group, p.recommended_granular_scopes) : undefined
      tokens.push({
        id: row.id,
        name: row.name,
        token_hint: row.token_hint,
        scopes: row.scopes,
        created_at: row.created_at.toISOString(),
        expires_at: row.expires_at,
        last_used_at: row.last_used_at?.toISOString() ?? null,
        owner: { id: row.user_id, username: row.owner_username, name: row.owner_name },
        conversion: {
          status: row.conversion_grace_ends_at ? 'converting' as const : 'not_converted' as const,
          successor_id: row.successor_id === null ? null : Number(row.successor_id),
          grace_ends_at: row.conversion_grace_ends_at?.toISOString() ?? null,
        },
        proposal: {
          confidence: p.confidence,
          summary: p.summary,
          recommended_granular_scopes: visible ? visible.scopes : p.recommended_granular_scopes,
          reason: p.reason,
          ...(visible ? { scopes_outside_group: visible.hidden } : {}),
        },
      })
    }
    const body = {
      summary: {
        ...(group ? { group_id: group.id, full_path: group.full_path } : {}),
        total: counts.total,
        used_last_30_days: counts.recent,
        with_proposal: counts.proposals,
        being_converted: counts.converting,
        enforcement_date: cutoff.policy,
        cutoff: cutoff.date,
        cutoff_source: cutoff.source,
        would_stop_working: counts.stopping,
      },
      tokens,
    }
    return { page: { total: counts.total, page, perPage }, body }
  }

  return { report }
}

export type LegacyReportService = ReturnType<typeof createLegacyReportService>
