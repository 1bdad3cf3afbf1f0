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
