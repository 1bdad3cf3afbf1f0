// The fine-grained scopes that hold what a set of legacy scopes holds, where it holds it: the start
// of the way from a legacy token to a fine-grained one (the preview offers it, a duplicate with
// granular_scopes takes it). A legacy token reaches every membership, the owner's personal projects
// and the owner (and, for an administrator, the instance), so the equivalent names those accesses;
// the owner then removes what the job does not need.
import { getPermission, legacyScopePermissions, type Boundary } from './permissions/index.js'
import { ACCESS_BOUNDARIES, type GranularScopeInput } from './scopes.js'

const ACCESS_ORDER = ['all_memberships', 'personal_projects', 'user', 'instance'] as const

/** Permissions with their bundles' members left out where the bundle itself is in the list. */
function compact(names: Set<string>): string[] {
  const implied = new Set<string>()
  for (const name of names) for (const member of getPermission(name)?.includes ?? []) if (names.has(member)) implied.add(member)
  return [...names].filter((n) => !implied.has(n)).sort()
}

export function fineGrainedEquivalent(legacyScopes: string[], ownerIsAdmin: boolean): GranularScopeInput[] {
  const held = new Set(legacyScopes.flatMap((s) => [...(legacyScopePermissions(s) ?? [])]))
  const out: GranularScopeInput[] = []
  for (const access of ACCESS_ORDER) {
    if (access === 'instance' && !ownerIsAdmin) continue
    const boundaries: Boundary[] = ACCESS_BOUNDARIES[access]
    const here = new Set([...held].filter((name) => {
      const p = getPermission(name)
      return p !== undefined && p.boundaries.some((b) => boundaries.includes(b)) && (!p.requiresAdmin || ownerIsAdmin)
    }))
    if (here.size > 0) out.push({ access, permissions: compact(here) })
  }
  return out
}
