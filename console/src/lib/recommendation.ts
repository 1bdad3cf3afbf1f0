// The usage recommendation (GET /personal_access_tokens/:id/recommendation) as the console shows it:
// the drawer's "Least privilege" section, the conversion preview and the legacy report all read
// scopes in the API's request shape (group_ids / project_ids lists), named here through names.ts.
import { api, must } from './api.js'
import { namespaceName } from './names.js'
import { ACCESS_TITLES, type ScopeEntry } from './scopes.js'

export const fetchRecommendation = (id: number) => must(api.GET('/api/v4/personal_access_tokens/{id}/recommendation', { params: { path: { id } } }))
export type Recommendation = Awaited<ReturnType<typeof fetchRecommendation>>

export const CONFIDENCE: Record<string, string> = {
  none: 'None — not enough evidence',
  low: 'Low — a few days of use',
  medium: 'Medium — at least a week of use',
  high: 'High — two weeks or more of steady use',
}

/** Scopes as the API proposes them (a recommendation, a report's proposal). */
export interface ProposedScope {
  access: string
  permissions: string[]
  group_ids?: number[]
  project_ids?: number[]
}

export interface ProposedLine {
  key: string
  kind: 'group' | 'project' | null
  /** "ACME Corp / Platform / API" once known, "Project 102" until then; the reach in words for broader access. */
  name: string
  /** acme/platform/api, once known. */
  path: string | null
  permissions: string[]
}

/** One line per group or project named (and one per broader reach), each with its permissions. */
export function proposedLines(scopes: readonly ProposedScope[]): ProposedLine[] {
  return scopes.flatMap((s, i): ProposedLine[] => {
    const named = [
      ...(s.group_ids ?? []).map((id) => ({ kind: 'group' as const, id })),
      ...(s.project_ids ?? []).map((id) => ({ kind: 'project' as const, id })),
    ]
    if (named.length === 0) {
      const name = ACCESS_TITLES[s.access as ScopeEntry['access']] ?? s.access
      return [{ key: `${i}:${s.access}`, kind: null, name, path: null, permissions: s.permissions }]
    }
    return named.map((n) => {
      const known = namespaceName(n.kind, n.id)
      return {
        key: `${i}:${n.kind}:${n.id}`,
        kind: n.kind,
        name: known?.fullName ?? `${n.kind === 'group' ? 'Group' : 'Project'} ${n.id}`,
        path: known?.fullPath ?? null,
        permissions: s.permissions,
      }
    })
  })
}
