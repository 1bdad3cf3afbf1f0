// Service accounts (issue 16): users with no interactive login, owned by a top-level group. Pure
// rules shared by the directory (which may sync them) and the group API (which creates them).
import { randomBytes } from 'node:crypto'

/**
 * Ids from here up are given to service accounts created through POST /groups/:id/service_accounts
 * (sequence service_account_user_ids, migration 0013); the directory may not write them, so a sync
 * can never overwrite such an account with a person.
 */
export const SERVICE_ACCOUNT_ID_FLOOR = 9_000_000_000_000_000

/** GitLab's generated username: service_account_group_<group id>_<random hex>. */
export function serviceAccountUsername(groupId: number): string {
  return `service_account_group_${groupId}_${randomBytes(16).toString('hex')}`
}

/** A generated address that delivers nowhere: mail about the account goes to its group's owners. */
export function serviceAccountEmail(username: string): string {
  return `${username}@noreply.service-accounts.invalid`
}

export interface UserKindInput {
  kind?: 'human' | 'service_account'
  service_account_group_id?: number | null
}

/** What is wrong with a directory user's kind and group (field → message), or undefined. */
export function userKindProblem(id: number, input: UserKindInput): { field: string; message: string } | undefined {
  if (id >= SERVICE_ACCOUNT_ID_FLOOR) {
    return { field: 'id', message: `ids from ${SERVICE_ACCOUNT_ID_FLOOR} up belong to service accounts created by group owners; the directory cannot write them` }
  }
  const group = input.service_account_group_id ?? null
  if (input.kind === 'service_account' && group === null) return { field: 'service_account_group_id', message: 'is required for a service account: the top-level group that owns it' }
  if (input.kind !== 'service_account' && group !== null) return { field: 'service_account_group_id', message: 'is only for kind service_account' }
  return undefined
}

export interface ScopeShape {
  access: string
  group_ids?: number[]
  project_ids?: number[]
  group_id?: number | null
  project_id?: number | null
}

/**
 * A service account's token reaches only its group: selected_memberships scopes on the group or
 * inside it. `rootOf` gives a named namespace's top-level id (undefined: unknown, left to the
 * ordinary validation). Returns one problem per offending field.
 */
export function scopesOutsideGroup(scopes: ScopeShape[], groupId: number, rootOf: (id: number) => number | undefined): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = []
  scopes.forEach((scope, i) => {
    const here = `body.granular_scopes[${i}]`
    if (scope.access !== 'selected_memberships') {
      problems.push({ path: `${here}.access`, message: `a service account's token takes selected_memberships scopes on group ${groupId} or inside it, not ${scope.access}` })
      return
    }
    const targets: [number, string][] = [
      ...(scope.group_ids ?? []).map((id, j): [number, string] => [id, `group_ids[${j}]`]),
      ...(scope.project_ids ?? []).map((id, j): [number, string] => [id, `project_ids[${j}]`]),
      ...(scope.group_id != null ? [[scope.group_id, 'group_id'] as [number, string]] : []),
      ...(scope.project_id != null ? [[scope.project_id, 'project_id'] as [number, string]] : []),
    ]
    for (const [id, field] of targets) {
      const root = rootOf(id)
      if (root !== undefined && root !== groupId) problems.push({ path: `${here}.${field}`, message: `${id} is outside group ${groupId}, which owns this service account` })
    }
  })
  return problems
}
