// The generate form's model: a token is one or more scope drafts (where + which permissions), each
// sent as exactly one granular_scopes entry, so an error the API reports at
// `body.granular_scopes[i]` belongs to draft i. Also the rules a permission must meet to apply at a
// draft's access (the same ones the API checks, shown before it has to refuse).
import type { components, paths } from '../../../../client/index.js'
import type { Permission, Token } from '../../lib/api.js'
import { labelOf } from '../../lib/names.js'

export type Access = Token['granular_scopes'][number]['access']
export type GranularScope = components['schemas']['PersonalAccessToken']['granular_scopes'][number]
export type ScopeRequest = NonNullable<paths['/api/v4/user/personal_access_tokens']['post']['requestBody']>['content']['application/json']['granular_scopes'] extends
  (infer T)[] | undefined ? T : never
export type Preview = paths['/api/v4/personal_access_tokens/preview']['post']['responses'][200]['content']['application/json']
export type Template = paths['/api/v4/personal_access_token_templates']['get']['responses'][200]['content']['application/json'][number]
export type FieldProblem = { path: string; message: string }

export interface Target {
  kind: 'group' | 'project'
  id: number
  /** Full name ("ACME Corp / Platform / API"); resolved through names.ts when not known yet. */
  label?: string
}

export interface ScopeDraft {
  /** Stable key for rendering and ids. */
  key: number
  access: Access
  targets: Target[]
  permissions: string[]
}

let nextKey = 1
export const newDraft = (access: Access = 'selected_memberships', permissions: string[] = [], targets: Target[] = []): ScopeDraft => ({
  key: nextKey++, access, permissions: [...new Set(permissions)], targets,
})

export const targetLabel = (t: Target) => t.label ?? labelOf(t.kind, t.id)

export const ACCESS_CHOICES: Array<{ value: Access; title: string; help: string; adminOnly?: boolean }> = [
  { value: 'selected_memberships', title: 'Selected groups and projects', help: 'Only the groups and projects you pick (a group includes its subgroups and projects).' },
  { value: 'personal_projects', title: 'Your personal projects', help: 'The projects in your personal namespace.' },
  { value: 'all_memberships', title: 'All your groups and projects', help: 'Every group and project you are a member of, now and later.' },
  { value: 'user', title: 'Your user account', help: 'Your profile, keys, emails and tokens; no group or project.' },
  { value: 'instance', title: 'The whole instance', help: 'Instance administration.', adminOnly: true },
]

const ACCESS_BOUNDARIES: Record<Access, string[]> = {
  selected_memberships: ['group', 'project'],
  personal_projects: ['project'],
  all_memberships: ['group', 'project'],
  user: ['user'],
  instance: ['instance'],
}

const BOUNDARY_WORDS: Record<string, string> = { project: 'projects', group: 'groups', user: 'your user account', instance: 'the instance' }
const list = (words: string[]) => (words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`)
export const boundaryWords = (p: Pick<Permission, 'boundaries'>) => list(p.boundaries.map((b) => BOUNDARY_WORDS[b] ?? b))

/** Why a permission cannot apply in this draft, or null when it can. */
export function unavailableReason(p: Permission, draft: Pick<ScopeDraft, 'access' | 'targets'>, isAdmin: boolean): string | null {
  if (p.requires_admin && !isAdmin) return 'Only for administrators.'
  const allowed = ACCESS_BOUNDARIES[draft.access]
  if (!p.boundaries.some((b) => allowed.includes(b))) {
    const where = ACCESS_CHOICES.find((c) => c.value === draft.access)?.title.toLowerCase() ?? draft.access
    return `Applies to ${boundaryWords(p)}, not to ${where}.`
  }
  if (draft.access === 'selected_memberships' && !p.boundaries.includes('project') && draft.targets.some((t) => t.kind === 'project')) {
    return 'Applies to groups only, and this scope includes projects.'
  }
  return null
}

/** One request entry per draft, in the same order (error paths point back at drafts). */
export function toRequest(drafts: ScopeDraft[]): ScopeRequest[] {
  return drafts.map((d) => {
    if (d.access !== 'selected_memberships') return { access: d.access, permissions: [...d.permissions] }
    const ids = (kind: Target['kind']) => d.targets.filter((t) => t.kind === kind).map((t) => t.id)
    return { access: d.access, permissions: [...d.permissions], group_ids: ids('group'), project_ids: ids('project') }
  })
}

/** A token's (or template's) scopes as drafts: entries with the same access and permissions share a draft. */
export function fromScopes(scopes: Array<ScopeRequest | GranularScope>, fallbackTargets: Target[] = []): ScopeDraft[] {
  const drafts = new Map<string, ScopeDraft>()
  for (const s of scopes) {
    const permissions = [...new Set(s.permissions)].sort()
    const key = `${s.access}:${permissions.join(',')}`
    const draft = drafts.get(key) ?? newDraft(s.access, permissions)
    drafts.set(key, draft)
    if (s.access !== 'selected_memberships') continue
    const targets: Target[] = [
      ...('group_ids' in s && s.group_ids ? s.group_ids.map((id) => ({ kind: 'group' as const, id })) : []),
      ...('project_ids' in s && s.project_ids ? s.project_ids.map((id) => ({ kind: 'project' as const, id })) : []),
      ...(s.group_id != null ? [{ kind: 'group' as const, id: s.group_id }] : []),
      ...(s.project_id != null ? [{ kind: 'project' as const, id: s.project_id }] : []),
    ]
    // A template's selected scope names no targets: it takes the ones already picked.
    for (const t of targets.length > 0 ? targets : fallbackTargets) {
      if (!draft.targets.some((x) => x.kind === t.kind && x.id === t.id)) draft.targets.push({ ...t })
    }
  }
  return [...drafts.values()]
}

/** The problems an API answer reports for draft i (its entry, its fields), and for the scopes as a whole. */
export function problemsForDraft(problems: FieldProblem[], index: number): FieldProblem[] {
  const prefix = `body.granular_scopes[${index}]`
  return problems.filter((p) => p.path === prefix || p.path.startsWith(`${prefix}.`) || p.path.startsWith(`${prefix}[`))
}

export const scopeWideProblems = (problems: FieldProblem[]) =>
  problems.filter((p) => p.path === 'body.granular_scopes' || p.path === 'body.scopes' || p.path.startsWith('body.scopes['))

/** Paths the form shows next to a field; anything else goes in the summary at the top. */
export const isFieldPath = (path: string) => /^body\.(name|description|expires_at|granular_scopes|scopes)\b/.test(path)
