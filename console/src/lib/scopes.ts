// A token's reach in words: "read_code, create_merge_request on ACME Corp / Platform / API",
// grouped per access kind, with group and project names resolved through names.ts.
import type { Token } from './api.js'
import { labelOf } from './names.js'

export type ScopeEntry = Token['granular_scopes'][number]

export const ACCESS_TITLES: Record<ScopeEntry['access'], string> = {
  selected_memberships: 'Selected groups and projects',
  personal_projects: 'Your personal projects',
  all_memberships: 'All your groups and projects',
  user: 'Your user account',
  instance: 'The whole instance (administrators)',
}

/** Where one entry applies, named. */
export function targetLabel(s: ScopeEntry): string {
  if (s.access === 'selected_memberships') {
    if (s.project_id !== null) return labelOf('project', s.project_id)
    if (s.group_id !== null) return labelOf('group', s.group_id)
  }
  return ACCESS_TITLES[s.access]
}

/** One line per scope entry: its target and its permissions. */
export function scopeLines(token: Pick<Token, 'granular' | 'granular_scopes' | 'scopes'>): Array<{ target: string; permissions: string[] }> {
  if (!token.granular) return [{ target: 'Legacy scopes (everything the owner can reach)', permissions: [...token.scopes] }]
  return token.granular_scopes.map((s) => ({ target: targetLabel(s), permissions: [...s.permissions] }))
}

/** A short summary for a table cell: "3 permissions on ACME Corp / Platform and 1 other". */
export function scopeSummary(token: Pick<Token, 'granular' | 'granular_scopes' | 'scopes'>): string {
  if (!token.granular) return `Legacy: ${token.scopes.join(', ') || 'no scopes'}`
  const permissions = new Set(token.granular_scopes.flatMap((s) => s.permissions))
  const targets = [...new Set(token.granular_scopes.map(targetLabel))]
  if (targets.length === 0) return 'No permissions'
  const where = targets.length === 1 ? targets[0] : `${targets[0]} and ${targets.length - 1} more`
  return `${permissions.size} permission${permissions.size === 1 ? '' : 's'} on ${where}`
}
