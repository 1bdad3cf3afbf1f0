// Least privilege from evidence: the smallest granular scopes that would have allowed everything a
// token was seen doing (token_usage_daily), what it tried and was denied, and what it holds but never
// used. Pure: the service gathers the usage and the namespace facts, this decides.
//
// The recommendation never reaches further than the token does today: each (permission, target) it
// names is one the current scopes hold there (a legacy token holds what its scopes expand to on every
// membership, its personal projects, the user and, for administrators, the instance).
import { fineGrainedEquivalent } from './legacy-equivalent.js'
import { expandPermissions, getPermission, legacyScopePermissions } from './permissions/index.js'
import { type Confidence, confidenceOf, type Evidence, insufficiencyReason } from './recommend-evidence.js'
import { describeCurrent, describeRecommended, type ReachCount, type Shape, summarize } from './recommend-summary.js'
import { type GranularScopeInput, normalizeScopes, type StoredScope } from './scopes.js'

export type { Confidence, Evidence } from './recommend-evidence.js'

/** One (permission, namespace) of the window's usage: totals and the days with an allowed use. */
export interface UsageAggregate {
  permission: string
  /** The project or group; 0 for user and instance resources (and resources that were not found). */
  namespace_id: number
  allowed: number
  denied: number
  /** Distinct days with an allowed decision. */
  days: number
}

export interface NamespaceFact {
  id: number
  kind: 'group' | 'project' | 'user'
  parent_id: number | null
  traversal_ids: number[]
  full_path: string
  /** Groups and personal namespaces: how many projects below it the token can reach today. */
  reachable_projects?: number
}

export interface RecommendationToken {
  kind: 'fine_grained' | 'legacy'
  /** Fine-grained: the stored scopes. */
  scopes: StoredScope[]
  /** Legacy: its scopes (api, read_api, …). */
  legacy_scopes: string[]
  owner_is_admin: boolean
}

export interface RecommendationInput {
  token: RecommendationToken
  usage: UsageAggregate[]
  /** Distinct days in the window with at least one allowed decision (not derivable from the aggregates). */
  allowed_days: number
  /** Every namespace the usage and the current scopes name, and all their ancestors. */
  namespaces: NamespaceFact[]
  /** What the current scopes reach today (src/modules/tokens reach). */
  current_reach: ReachCount
  window: { days: number; since: string; until: string }
  now: Date
  /** Set when the evidence could not be read whole (e.g. too many distinct uses): nothing is recommended, this is why. */
  incomplete?: string
}

export type TargetKind = 'project' | 'group' | 'user' | 'instance' | 'unknown'

export interface NamespaceUse {
  namespace_id: number | null
  kind: TargetKind
  full_path: string | null
  count: number
  days?: number
}

export interface UsedPermission {
  permission: string
  title: string
  allowed: number
  namespaces: NamespaceUse[]
}

export interface DeniedPermission {
  permission: string
  title: string
  denied: number
  /** Whether the token holds the permission somewhere (denied for its reach or the owner's role) or not at all. */
  held: boolean
  namespaces: NamespaceUse[]
}

export interface Collapse {
  /** The group; null for the owner's personal projects (access personal_projects). */
  group_id: number | null
  full_path: string
  permissions: string[]
  used_projects: number
  reachable_projects: number
}

export interface Recommendation {
  window: { days: number; since: string; until: string }
  evidence: Evidence
  confidence: Confidence
  used: UsedPermission[]
  denied: DeniedPermission[]
  unused: { permission: string; title: string }[]
  recommended_granular_scopes: GranularScopeInput[] | null
  /** Why nothing is recommended (too little evidence); null when something is. */
  reason: string | null
  collapsed: Collapse[]
  /** Uses the recommendation leaves out because the token no longer holds them there. */
  dropped: { permission: string; namespace_id: number | null; why: string }[]
  already_least_privilege: boolean
  notes: string[]
  current: { permissions: number; description: string; reach: ReachCount }
  recommended: { permissions: number; description: string; reach: ReachCount } | null
  summary: string
}

/** Where one allowed use happened, as a scope would name it. */
type Target =
  | { kind: 'project' | 'group'; ns: NamespaceFact }
  | { kind: 'personal'; ns: NamespaceFact }
  | { kind: 'user' | 'instance' }

const titleOf = (name: string) => getPermission(name)?.title ?? name
const byName = <T extends { permission: string }>(a: T, b: T) => a.permission.localeCompare(b.permission)

/** The scopes the token holds today, as fine-grained scopes (a legacy token's equivalent). */
export function currentScopes(token: RecommendationToken): StoredScope[] {
  if (token.kind === 'fine_grained') return token.scopes
  return normalizeScopes(fineGrainedEquivalent(token.legacy_scopes, token.owner_is_admin))
}

/** Every permission the token holds somewhere, bundles expanded. */
export function heldPermissions(token: RecommendationToken): Set<string> {
  if (token.kind === 'legacy') return new Set(token.legacy_scopes.flatMap((s) => [...(legacyScopePermissions(s) ?? [])]))
  return expandPermissions(token.scopes.flatMap((s) => s.permissions))
}

/** A resource recorded as namespace 0 is the user or the instance, told apart by the permission's boundary. */
function zeroKind(permission: string): 'user' | 'instance' | 'unknown' {
  const boundaries = getPermission(permission)?.boundaries ?? []
  if (boundaries.includes('user')) return 'user'
  if (boundaries.includes('instance')) return 'instance'
  return 'unknown'
}

class Facts {
  private readonly byId: Map<number, NamespaceFact>
  constructor(namespaces: NamespaceFact[]) {
    this.byId = new Map(namespaces.map((n) => [n.id, n]))
  }
  get(id: number) {
    return this.byId.get(id)
  }
  /** Whether `ns` lies in a user's personal namespace. */
  personal(ns: NamespaceFact) {
    return this.byId.get(ns.traversal_ids[0])?.kind === 'user'
  }
  describe(permission: string, id: number): { kind: TargetKind; full_path: string | null } {
    if (id === 0) return { kind: zeroKind(permission), full_path: null }
    const ns = this.byId.get(id)
    if (!ns) return { kind: 'unknown', full_path: null }
    return { kind: ns.kind === 'user' ? 'unknown' : ns.kind, full_path: ns.full_path }
  }
}

/** Whether the current scopes hold `permission` at `target`. */
function holds(current: StoredScope[], facts: Facts, permission: string, target: Target): boolean {
  return current.some((scope) => {
    if (!expandPermissions(scope.permissions).has(permission)) return false
    switch (target.kind) {
      case 'user':
      case 'instance':
        return scope.access === target.kind
      case 'personal':
        return scope.access === 'personal_projects'
      default:
        if (scope.access === 'selected_memberships') return scope.namespace_id !== null && target.ns.traversal_ids.includes(scope.namespace_id)
        if (scope.access === 'personal_projects') return target.kind === 'project' && facts.personal(target.ns)
        return scope.access === 'all_memberships' && !facts.personal(target.ns)
    }
  })
}

function uses(rows: UsageAggregate[], facts: Facts, pick: (r: UsageAggregate) => number, withDays: boolean): NamespaceUse[] {
  return rows
    .filter((r) => pick(r) > 0)
    .map((r) => ({ namespace_id: r.namespace_id === 0 ? null : r.namespace_id, ...facts.describe(r.permission, r.namespace_id), count: pick(r), ...(withDays ? { days: r.days } : {}) }))
    .sort((a, b) => b.count - a.count || (a.namespace_id ?? 0) - (b.namespace_id ?? 0))
}

function groupByPermission(rows: UsageAggregate[]): Map<string, UsageAggregate[]> {
  const out = new Map<string, UsageAggregate[]>()
  for (const r of rows) out.set(r.permission, [...(out.get(r.permission) ?? []), r])
  return out
}

/** Held permissions with no allowed use; a bundle counts as used when one of its members was. */
function unusedPermissions(held: Set<string>, used: Set<string>) {
  return [...held]
    .filter((name) => !used.has(name) && !(getPermission(name)?.includes ?? []).some((m) => used.has(m)))
    .sort()
    .map((permission) => ({ permission, title: titleOf(permission) }))
}

interface Narrowed {
  /** Namespace id → permissions (groups and projects named by selected_memberships). */
  selected: Map<number, Set<string>>
  personal: Set<string>
  user: Set<string>
  instance: Set<string>
  collapsed: Collapse[]
  dropped: Recommendation['dropped']
}

/**
 * The smallest targets for one permission's allowed uses: the groups and projects it was used on,
 * a group instead of its projects when most of the group's reachable projects were used (more than
 * half, and at least two), the personal projects likewise.
 */
function narrowPermission(permission: string, rows: UsageAggregate[], facts: Facts, current: StoredScope[], out: Narrowed): void {
  const drop = (id: number | null, why: string) => out.dropped.push({ permission, namespace_id: id, why })
  const groups = new Set<NamespaceFact>()
  const projects: NamespaceFact[] = []
  for (const r of rows.filter((row) => row.allowed > 0)) {
    if (r.namespace_id === 0) {
      const kind = zeroKind(permission)
      if (kind === 'unknown') continue
      if (holds(current, facts, permission, { kind })) out[kind].add(permission)
      else drop(null, `the token no longer holds it for the ${kind}`)
      continue
    }
    const ns = facts.get(r.namespace_id)
    if (!ns || ns.kind === 'user') {
      drop(r.namespace_id, 'the namespace no longer exists')
      continue
    }
    if (!holds(current, facts, permission, { kind: ns.kind, ns })) drop(r.namespace_id, `the token no longer holds it on ${ns.full_path}`)
    else if (ns.kind === 'group') groups.add(ns)
    else projects.push(ns)
  }
  const under = (ns: NamespaceFact, ancestorId: number) => ns.id !== ancestorId && ns.traversal_ids.includes(ancestorId)
  const loose = projects.filter((p) => ![...groups].some((g) => under(p, g.id)))
  // Per project, the deepest ancestor the rule allows collapsing to; a wider choice absorbs a narrower one.
  const chosen = new Map<number, NamespaceFact>()
  for (const project of loose) {
    for (const id of [...project.traversal_ids].reverse().slice(1)) {
      const ancestor = facts.get(id)
      if (!ancestor?.reachable_projects) continue
      const used = loose.filter((p) => under(p, id)).length
      if (used < 2 || used * 2 <= ancestor.reachable_projects) continue
      const target: Target = ancestor.kind === 'user' ? { kind: 'personal', ns: ancestor } : { kind: 'group', ns: ancestor }
      if (!holds(current, facts, permission, target)) continue
      chosen.set(id, ancestor)
      break
    }
  }
  const collapses = [...chosen.values()].filter((c) => ![...chosen.values(), ...groups].some((other) => under(c, other.id)))
  for (const c of collapses) {
    const used = loose.filter((p) => under(p, c.id)).length
    out.collapsed.push({ group_id: c.kind === 'user' ? null : c.id, full_path: c.full_path, permissions: [permission], used_projects: used, reachable_projects: c.reachable_projects ?? 0 })
    if (c.kind === 'user') out.personal.add(permission)
    else groups.add(c)
  }
  const covered = (p: NamespaceFact) => collapses.some((c) => under(p, c.id)) || [...groups].some((g) => under(p, g.id))
  for (const ns of [...groups, ...loose.filter((p) => !covered(p))]) {
    out.selected.set(ns.id, (out.selected.get(ns.id) ?? new Set()).add(permission))
  }
}

/** Collapses of several permissions to the same group reported once. */
function mergeCollapses(collapses: Collapse[]): Collapse[] {
  const merged = new Map<string, Collapse>()
  for (const c of collapses) {
    const key = `${c.group_id}:${c.used_projects}`
    const seen = merged.get(key)
    if (seen) seen.permissions = [...seen.permissions, ...c.permissions].sort()
    else merged.set(key, { ...c })
  }
  return [...merged.values()]
}

/** The request shape: one selected_memberships entry per kind and permission set, then personal, user, instance. */
function toScopes(n: Narrowed, facts: Facts): GranularScopeInput[] {
  const entries = new Map<string, GranularScopeInput>()
  for (const [id, perms] of [...n.selected].sort((a, b) => a[0] - b[0])) {
    const kind = facts.get(id)?.kind === 'group' ? 'group' : 'project'
    const permissions = [...perms].sort()
    const key = `${kind}:${permissions.join(',')}`
    const entry = entries.get(key) ?? { access: 'selected_memberships', permissions }
    if (kind === 'group') entry.group_ids = [...(entry.group_ids ?? []), id]
    else entry.project_ids = [...(entry.project_ids ?? []), id]
    entries.set(key, entry)
  }
  const out = [...entries.values()].sort((a, b) => (a.group_ids ? 0 : 1) - (b.group_ids ? 0 : 1))
  const add = (access: 'personal_projects' | 'user' | 'instance', perms: Set<string>) => {
    if (perms.size > 0) out.push({ access, permissions: [...perms].sort() })
  }
  add('personal_projects', n.personal)
  add('user', n.user)
  add('instance', n.instance)
  return out
}

/** Same grants, whatever the order or bundling: per (access, namespace), the expanded permissions. */
function sameGrants(a: StoredScope[], b: StoredScope[]): boolean {
  const key = (scopes: StoredScope[]) => {
    const m = new Map<string, Set<string>>()
    for (const s of scopes) {
      const k = `${s.access}:${s.namespace_id ?? ''}`
      m.set(k, new Set([...(m.get(k) ?? []), ...expandPermissions(s.permissions)]))
    }
    return [...m].map(([k, v]) => `${k}=${[...v].sort().join(',')}`).sort().join(';')
  }
  return key(a) === key(b)
}

/** What the recommended scopes name and reach (group targets count their reachable projects). */
function recommendedShape(n: Narrowed, facts: Facts, current: ReachCount): Shape {
  const targets = [...n.selected.keys()].map((id) => facts.get(id)).filter((ns): ns is NamespaceFact => ns !== undefined)
  const groups = targets.filter((ns) => ns.kind === 'group')
  const top = groups.filter((g) => !groups.some((o) => o.id !== g.id && g.traversal_ids.includes(o.id)))
  const personal = n.personal.size > 0
  const named = targets.filter((ns) => ns.kind === 'project')
  const loose = named.filter((p) => !top.some((g) => p.traversal_ids.includes(g.id)) && !(personal && facts.personal(p)))
  const personalProjects = Math.max(0, ...n.collapsed.filter((c) => c.group_id === null).map((c) => c.reachable_projects))
  const projects = top.reduce((sum, g) => sum + (g.reachable_projects ?? 0), 0) + loose.length + personalProjects
  return {
    groups: groups.length, projects: named.length, personal, user: n.user.size > 0, instance: n.instance.size > 0,
    reach: { projects: Math.min(projects, current.projects), groups: Math.min(groups.length, current.groups) },
  }
}

const noRecommendationSummary = (reason: string) => `${reason.split(';')[0]}: no recommendation yet.`

/** A recommendation's verdict: what a list of tokens (the legacy report) shows of each. */
export type Verdict = Pick<Recommendation, 'confidence' | 'summary' | 'recommended_granular_scopes' | 'reason'>

/**
 * The verdict when the evidence alone decides it: too little use for any recommendation (what
 * recommend() answers then, whatever the token's scopes and namespaces). Undefined when there is
 * enough, and the whole recommendation must be worked out. The evidence must be of every usage row
 * of the window (recommend() answers otherwise when they were too many to read).
 */
export function verdictFromEvidence(evidence: Evidence, windowDays: number): Verdict | undefined {
  const reason = insufficiencyReason(evidence, windowDays)
  if (reason === undefined) return undefined
  return { confidence: confidenceOf(evidence), summary: noRecommendationSummary(reason), recommended_granular_scopes: null, reason }
}

export function recommend(input: RecommendationInput): Recommendation {
  const facts = new Facts(input.namespaces)
  const current = currentScopes(input.token)
  const held = heldPermissions(input.token)
  const evidence: Evidence = {
    allowed: input.usage.reduce((s, r) => s + r.allowed, 0),
    denied: input.usage.reduce((s, r) => s + r.denied, 0),
    days: input.allowed_days,
  }
  const byPermission = groupByPermission(input.usage)
  const used: UsedPermission[] = []
  const denied: DeniedPermission[] = []
  for (const [permission, rows] of byPermission) {
    const allowed = rows.reduce((s, r) => s + r.allowed, 0)
    const refused = rows.reduce((s, r) => s + r.denied, 0)
    if (allowed > 0) used.push({ permission, title: titleOf(permission), allowed, namespaces: uses(rows, facts, (r) => r.allowed, true) })
    if (refused > 0) denied.push({ permission, title: titleOf(permission), denied: refused, held: held.has(permission), namespaces: uses(rows, facts, (r) => r.denied, false) })
  }
  used.sort((a, b) => b.allowed - a.allowed || byName(a, b))
  denied.sort((a, b) => b.denied - a.denied || byName(a, b))
  const usedNames = new Set(used.map((u) => u.permission))
  const currentDescription = describeCurrent(input.token.kind, input.token.legacy_scopes, current, (id) => facts.get(id)?.kind, input.current_reach)
  const currentPermissions = input.token.kind === 'legacy' ? held.size : new Set(current.flatMap((s) => s.permissions)).size
  const base = {
    window: input.window, evidence, confidence: confidenceOf(evidence), used, denied, unused: unusedPermissions(held, usedNames),
    current: { permissions: currentPermissions, description: currentDescription, reach: input.current_reach },
  }
  const notes: string[] = []
  if (denied.length > 0) {
    notes.push(`The token was denied ${denied.length === 1 ? 'one permission' : `${denied.length} permissions`} it tried (see denied): if the job needs them, add them yourself; a recommendation only keeps what was allowed.`)
  }
  const tooLittle = input.incomplete ?? insufficiencyReason(evidence, input.window.days)
  if (tooLittle) {
    return { ...base, recommended_granular_scopes: null, reason: tooLittle, collapsed: [], dropped: [], already_least_privilege: false, notes, recommended: null, summary: noRecommendationSummary(tooLittle) }
  }
  const narrowed: Narrowed = { selected: new Map(), personal: new Set(), user: new Set(), instance: new Set(), collapsed: [], dropped: [] }
  for (const permission of [...usedNames].sort()) narrowPermission(permission, byPermission.get(permission) ?? [], facts, current, narrowed)
  const scopes = toScopes(narrowed, facts)
  const collapsed = mergeCollapses(narrowed.collapsed)
  for (const c of collapsed) {
    notes.push(`${c.permissions.join(', ')}: collapsed to ${c.group_id === null ? 'personal projects' : `group ${c.full_path}`} — ${c.used_projects} of its ${c.reachable_projects} reachable projects were used.`)
  }
  if (narrowed.dropped.length > 0) notes.push('Some recorded uses are left out: the token no longer holds those permissions there (see dropped).')
  if (scopes.length === 0) {
    const reason = 'Nothing to recommend: every allowed use in the window was of a permission or place the token no longer holds.'
    return { ...base, recommended_granular_scopes: null, reason, collapsed, dropped: narrowed.dropped, already_least_privilege: false, notes, recommended: null, summary: reason }
  }
  const minimal = input.token.kind === 'fine_grained' && sameGrants(normalizeScopes(scopes), current)
  if (minimal) notes.push('Already least privilege: the token holds exactly what it used.')
  const shape = recommendedShape(narrowed, facts, input.current_reach)
  const permissions = new Set(scopes.flatMap((s) => s.permissions)).size
  const description = describeRecommended(shape)
  const reach = shape.reach
  return {
    ...base,
    recommended_granular_scopes: scopes,
    reason: null,
    collapsed,
    dropped: narrowed.dropped,
    already_least_privilege: minimal,
    notes,
    recommended: { permissions, description, reach },
    summary: summarize({ permissions: currentPermissions, description: currentDescription }, { permissions, description }, minimal),
  }
}
