// The recommendation in one sentence a person can read:
// "12 permissions on all memberships (84 projects) → 3 permissions on 2 projects". Pure.
import type { StoredScope } from './scopes.js'

/** How many projects and groups a set of scopes reaches for its owner. */
export interface ReachCount {
  projects: number
  groups: number
}

/** What a recommendation names (groups, projects, accesses) and what that reaches. */
export interface Shape {
  groups: number
  projects: number
  personal: boolean
  user: boolean
  instance: boolean
  reach: ReachCount
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function list(parts: string[]): string {
  if (parts.length === 0) return 'nothing'
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`
}

/** "all memberships (84 projects)", "2 selected groups and the user (9 projects)", "legacy scopes api on …". */
export function describeCurrent(
  kind: 'fine_grained' | 'legacy',
  legacyScopes: string[],
  scopes: StoredScope[],
  kindOf: (namespaceId: number) => string | undefined,
  reach: ReachCount,
): string {
  const has = (access: StoredScope['access']) => scopes.some((s) => s.access === access)
  const selected = new Set(scopes.flatMap((s) => (s.access === 'selected_memberships' && s.namespace_id !== null ? [s.namespace_id] : [])))
  const groups = [...selected].filter((id) => kindOf(id) === 'group').length
  const projects = selected.size - groups
  const parts: string[] = []
  if (has('all_memberships')) parts.push('all memberships')
  if (groups > 0) parts.push(count(groups, 'selected group'))
  if (projects > 0) parts.push(count(projects, 'selected project'))
  if (has('personal_projects')) parts.push('personal projects')
  if (has('user')) parts.push('the user')
  if (has('instance')) parts.push('the instance')
  // A list of named projects already says how many; anything wider gets its reach in projects.
  const wide = has('all_memberships') || has('personal_projects') || groups > 0
  const where = `${list(parts)}${wide ? ` (${count(reach.projects, 'project')})` : ''}`
  return kind === 'legacy' ? `legacy scopes ${legacyScopes.join(', ')} on ${where}` : where
}

/** "2 projects", "1 group (3 projects) and 1 project", "the user". */
export function describeRecommended(shape: Shape): string {
  const parts: string[] = []
  if (shape.groups > 0) parts.push(count(shape.groups, 'group'))
  if (shape.projects > 0) parts.push(count(shape.projects, 'project'))
  if (shape.personal) parts.push('personal projects')
  if (shape.user) parts.push('the user')
  if (shape.instance) parts.push('the instance')
  const wide = shape.groups > 0 || shape.personal
  return `${list(parts)}${wide ? ` (${count(shape.reach.projects, 'project')} in all)` : ''}`
}

export function summarize(
  current: { permissions: number; description: string },
  recommended: { permissions: number; description: string },
  already: boolean,
): string {
  const from = `${count(current.permissions, 'permission')} on ${current.description}`
  if (already) return `${from}: already least privilege, nothing to remove.`
  return `${from} → ${count(recommended.permissions, 'permission')} on ${recommended.description}`
}
