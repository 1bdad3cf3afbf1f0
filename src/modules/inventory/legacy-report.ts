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
import { addDays, type Clock, utcDate } from '../../domain/dates.js'
import type { GroupPolicy, InstancePolicy } from '../../domain/policy.js'
import type { GranularScopeRequest } from '../../domain/scopes.js'
import type { ManagedGroup } from '../policies/access.js'
import { groupNamespaces } from './repository.js'
import type { LegacyReportQueryInput } from './schemas.js'

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
  scope: (caller: Caller, groupId: number | undefined) => Promise<{ group?: ManagedGroup }>
  /** The proposals for a page of tokens, in its order (one evidence query for the page; see computeVerdicts). */
  proposals: (tokens: TokenRow[]) => Promise<TokenProposal[]>
  threshold: ProposalThreshold
  instancePolicy: () => Promise<InstancePolicy>
  groupPolicy: (rootGroupId: number) => Promise<GroupPolicy>
}

const RECENT_DAYS = 30
/** The report functions' first two arguments: a group's namespaces (direct, inherited), or nulls for the instance. */
const namespacesOf = (group: ManagedGroup | undefined) => (group ? groupNamespaces(group.id) : sql`null::bigint[], null::bigint[]`)
/** "Used in the last 30 days": on one of the last 30 UTC days, today included (whole days, as pat_legacy_use_days counts them). */
const recentFrom = (today: string) => addDays(today, -(RECENT_DAYS - 1))

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
   * The summary as fgpat_legacy_summary (migration 0020) counts it, one call with its plans kept per
   * backend: a group's live legacy tokens (its members'), or every one (the instance: ~5% of the
   * table scattered through it, too many to read per report, so the total and the expiry
   * arithmetic come from pat_inventory_counts and recent use from pat_legacy_use_days, both exact
   * and kept by triggers; the few tokens being converted correct the cut-off count).
   */
  async function summary(group: ManagedGroup | undefined, today: string, cutoff: string | null) {
    const { rows } = await sql<{ total: string; recent: string; converting: string; stopping: string | null; proposals: string }>`
      select * from fgpat_legacy_summary(${namespacesOf(group)}, ${today}::date, ${recentFrom(today)}::date, ${cutoff}::date,
        ${addDays(today, -(deps.threshold.windowDays - 1))}::date, ${deps.threshold.minAllowed}::bigint, ${deps.threshold.minDays}::bigint)`.execute(db)
    const r = rows[0]
    return { total: Number(r.total), recent: Number(r.recent), converting: Number(r.converting), stopping: r.stopping === null ? null : Number(r.stopping), proposals: Number(r.proposals) }
  }

  async function report(caller: Caller, groupId: number | undefined, q: LegacyReportQueryInput) {
    const { group } = await deps.scope(caller, groupId)
    const today = utcDate(clock())
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const cutoff = await cutoffOf(group, q.cutoff)
    const counts = await summary(group, today, cutoff.date)
    // A page, most recently used first (fgpat_legacy_page, migration 0020: its plans kept per backend).
    const { rows } = await sql<TokenRow & { owner_username: string; owner_name: string; successor_id: number | null }>`
      select (p.token).*, p.owner_username, p.owner_name, p.successor_id
      from fgpat_legacy_page(${namespacesOf(group)}, ${today}::date, ${perPage}::int, ${(page - 1) * perPage}::int) p`.execute(db)
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
