// What a set of scopes can reach: the preview (dry run before creating a token) and a token's own
// associations (`/self/associations`). Nothing is stored.
import { type Caller, callerUser } from '../../auth/caller.js'
import type { UserRow } from '../../db/types.js'
import { addDays, utcDate } from '../../domain/dates.js'
import { checkExpiry } from '../../domain/expiry.js'
import { fineGrainedEquivalent } from '../../domain/legacy-equivalent.js'
import { defaultExpiry, gitlabDefaultExpiry } from '../../domain/policy.js'
import { expandPermissions, getPermission, legacyScopePermissions, permissionTitles } from '../../domain/permissions/index.js'
import type { StoredScope } from '../../domain/scopes.js'
import { AppError, notFound } from '../../http/errors.js'
import { expiryRefusal, violationFields } from '../policies/gate.js'
import { isAdminCaller, selfToken } from './access.js'
import { type AssociatedNamespace, associationsPage } from './associations-query.js'
import * as repo from './repository.js'
import type { AssociationsQueryInput, PreviewInput } from './schemas.js'
import type { TokenDeps } from './service.js'
import { checkRequestedScopes } from './validation.js'

const LIST_LIMIT = 200

export function reachOf(kind: 'legacy' | 'fine_grained', stored: StoredScope[]): repo.Reach {
  if (kind === 'legacy') return { selectedIds: [], allMemberships: true, personalProjects: true }
  return {
    selectedIds: stored.flatMap((s) => (s.namespace_id ? [s.namespace_id] : [])),
    allMemberships: stored.some((s) => s.access === 'all_memberships'),
    personalProjects: stored.some((s) => s.access === 'personal_projects'),
  }
}

async function listReach(deps: TokenDeps, owner: UserRow, reach: repo.Reach) {
  const rows = await repo.reachableNamespaces(deps.db, owner.id, reach, utcDate(deps.clock()), LIST_LIMIT + 1)
  const shown = rows.slice(0, LIST_LIMIT).map((r) => ({
    id: r.id, name: r.full_path.split('/').pop() ?? r.full_path, full_path: r.full_path, parent_id: r.parent_id,
    visibility: r.visibility, access_level: r.access_level ?? 0, kind: r.kind,
  }))
  const strip = ({ kind: _kind, ...rest }: (typeof shown)[number]) => rest
  return {
    groups: shown.filter((r) => r.kind === 'group').map(strip),
    projects: shown.filter((r) => r.kind === 'project').map(strip),
    truncated: rows.length > LIST_LIMIT,
  }
}

export function createReachService(deps: TokenDeps) {
  async function preview(caller: Caller, input: PreviewInput) {
    const self = callerUser(caller)
    let owner = self
    if (input.user_id !== undefined && input.user_id !== self?.id) {
      if (!isAdminCaller(caller)) throw notFound(`User ${input.user_id}`)
      owner = await repo.findUser(deps.db, input.user_id)
      if (!owner) throw notFound(`User ${input.user_id}`)
    }
    if (!owner) throw new AppError(400, 'user_required', 'A service must say which user the preview is for: user_id')
    const today = utcDate(deps.clock())
    const checked = await checkRequestedScopes(deps.db, owner, input, today)
    // Policy as creation would apply it: what it forbids, and the expiry rules for this reach.
    const policy = await deps.policies.evaluate({ ownerId: owner.id, kind: checked.kind, legacyScopes: checked.legacyScopes, stored: checked.stored })
    const problems = [...checked.problems, ...violationFields(policy.violations).map((f) => ({ ...f, code: 'policy_violation' }))]
    if (input.expires_at !== undefined) {
      const check = checkExpiry(input.expires_at, policy.expiry, today)
      if (!check.ok) problems.push({ path: 'body.expires_at', message: expiryRefusal(check, policy.expiry), code: check.code })
    }
    const granted =
      checked.kind === 'legacy'
        ? new Set(checked.legacyScopes.flatMap((s) => [...(legacyScopePermissions(s) ?? [])]))
        : expandPermissions(checked.stored.flatMap((s) => s.permissions))
    const known = [...granted].filter((p) => getPermission(p)).sort()
    const titles = permissionTitles(known)
    const hasBoundary = (b: 'user' | 'instance') => known.some((p) => getPermission(p)?.boundaries.includes(b))
    const userLevel = checked.kind === 'legacy' ? hasBoundary('user') : checked.stored.some((s) => s.access === 'user')
    const instance = checked.kind === 'legacy' ? hasBoundary('instance') && owner.is_admin : checked.stored.some((s) => s.access === 'instance')
    const reached = checked.problems.length === 0 ? await listReach(deps, owner, reachOf(checked.kind, checked.stored)) : { groups: [], projects: [], truncated: false }
    const merged = policy.expiry
    return {
      valid: problems.length === 0,
      errors: problems,
      warnings: [...new Set(checked.warnings)],
      permissions: known.map((name, i) => ({ name, title: titles[i] })),
      user: userLevel,
      instance,
      ...reached,
      expiry: {
        required: merged.required,
        max_lifetime_days: merged.maxLifetimeDays,
        latest: addDays(today, merged.maxLifetimeDays),
        default_lifetime_days: merged.defaultLifetimeDays,
        default: defaultExpiry(merged, today) ?? gitlabDefaultExpiry(merged, today),
        source: merged.source,
      },
      ...(checked.kind === 'legacy' && checked.problems.length === 0 ? { granular_equivalent: fineGrainedEquivalent(checked.legacyScopes, owner.is_admin) } : {}),
    }
  }

  /**
   * GitLab's associations: the groups and the projects the token reaches, each list paginated with
   * the same page and per_page (as GitLab does). The page info describes the longer list, so
   * X-Total-Pages, X-Next-Page and Link walk both to their end.
   */
  async function associations(caller: Caller, q: AssociationsQueryInput) {
    const token = selfToken(caller)
    if (caller.kind !== 'token') throw new AppError(400, 'token_caller_required', 'Authenticate with the token itself')
    const stored = caller.tokenScopes.map((s) => ({ access: s.access, namespace_id: s.namespace_id, permissions: s.permissions }))
    const reach = reachOf(token.kind, stored)
    const page = q.page ?? 1
    const perPage = q.per_page ?? 20
    const today = utcDate(deps.clock())
    const ask = (kind: 'group' | 'project') => associationsPage(deps.db, caller.user.id, reach, today, { kind, tokenId: token.id, minLevel: q.min_access_level, page, perPage })
    const [groups, projects] = await Promise.all([ask('group'), ask('project')])
    const total = Math.max(groups.total, projects.total)
    return {
      page: { total, page, perPage },
      body: {
        groups: groups.rows.map(presentGroup),
        projects: projects.rows.map(presentProject),
        truncated: page * perPage < total,
      },
    }
  }

  return { preview, associations }
}

export type ReachService = ReturnType<typeof createReachService>

function presentGroup(r: AssociatedNamespace) {
  return {
    id: r.id, name: r.name, path: r.path, full_path: r.full_path, parent_id: r.parent_id,
    access_levels: r.access_level, visibility: r.visibility, access_level: r.access_level,
  }
}

function presentProject(r: AssociatedNamespace) {
  return {
    id: r.id, name: r.name, name_with_namespace: r.name_with_namespace, path: r.path, path_with_namespace: r.full_path,
    created_at: r.created_at.toISOString(),
    access_levels: { project_access_level: r.project_access_level, group_access_level: r.group_access_level },
    visibility: r.visibility,
    namespace: {
      id: r.parent_id!, name: r.parent_name!, path: r.parent_path!, kind: r.parent_kind!, full_path: r.parent_full_path!, parent_id: r.parent_parent_id,
    },
    full_path: r.full_path, parent_id: r.parent_id, access_level: r.access_level,
  }
}
