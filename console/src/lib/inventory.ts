// The inventory's API calls for one scope: the whole instance (administrators) or one group the
// user owns. Same filters and answers on both; only the paths differ.
import { api, must, mustPage, type Token } from './api.js'

export type InventoryScope = { kind: 'instance' } | { kind: 'group'; id: number }

export interface InventoryFilters {
  search?: string
  state?: 'active' | 'revoked' | 'expired'
  kind?: 'fine_grained' | 'legacy'
  permission?: string
  expires_before?: string
  never_used?: boolean
  sort?: 'created_desc' | 'created_asc' | 'expires_asc' | 'expires_desc' | 'last_used_desc' | 'last_used_asc'
}

/** Only the filters set: the API refuses empty strings. */
export function queryOf(f: InventoryFilters) {
  const q: InventoryFilters = {}
  if (f.search?.trim()) q.search = f.search.trim()
  if (f.state) q.state = f.state
  if (f.kind) q.kind = f.kind
  if (f.permission?.trim()) q.permission = f.permission.trim()
  if (f.expires_before) q.expires_before = f.expires_before
  if (f.never_used) q.never_used = true
  if (f.sort) q.sort = f.sort
  return q
}

export function listTokens(scope: InventoryScope, filters: InventoryFilters, page: number, perPage = 20) {
  const query = { ...queryOf(filters), page, per_page: perPage }
  return scope.kind === 'instance'
    ? mustPage<Token[]>(api.GET('/api/v4/admin/personal_access_tokens', { params: { query } }))
    : mustPage<Token[]>(api.GET('/api/v4/groups/{id}/manage/personal_access_tokens', { params: { path: { id: scope.id }, query } }))
}

export function summaryOf(scope: InventoryScope) {
  return scope.kind === 'instance'
    ? must(api.GET('/api/v4/admin/personal_access_tokens/summary'))
    : must(api.GET('/api/v4/groups/{id}/manage/personal_access_tokens/summary', { params: { path: { id: scope.id } } }))
}

/** Every matching token as CSV (the API streams it when asked with Accept: text/csv). */
export async function exportCsv(scope: InventoryScope, filters: InventoryFilters): Promise<Blob> {
  const query = queryOf(filters)
  const headers = { Accept: 'text/csv' }
  const data = scope.kind === 'instance'
    ? await must(api.GET('/api/v4/admin/personal_access_tokens', { params: { query }, headers, parseAs: 'blob' }))
    : await must(api.GET('/api/v4/groups/{id}/manage/personal_access_tokens', { params: { path: { id: scope.id }, query }, headers, parseAs: 'blob' }))
  return data as unknown as Blob
}

/** Hands a blob to the browser as a download (an object URL on a clicked <a download>). */
export function download(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Revoke: an administrator through the token's own endpoint, a group owner through the group's. */
/** Revokes for good; a reason, when given, is kept in the audit event and quoted in the owner's mail. */
export function revokeToken(scope: InventoryScope, tokenId: number, reason = '') {
  const body = reason.trim() ? { reason: reason.trim() } : null
  return scope.kind === 'instance'
    ? must(api.DELETE('/api/v4/personal_access_tokens/{id}', { params: { path: { id: tokenId } }, body }))
    : must(api.DELETE('/api/v4/groups/{id}/manage/personal_access_tokens/{token_id}', { params: { path: { id: scope.id, token_id: tokenId } }, body }))
}

export function removeGroupAccess(groupId: number, tokenId: number, reason: string) {
  return must(api.POST('/api/v4/groups/{id}/manage/personal_access_tokens/{token_id}/remove_access', {
    params: { path: { id: groupId, token_id: tokenId } },
    body: reason.trim() ? { reason: reason.trim() } : {},
  }))
}

export function restoreGroupAccess(groupId: number, tokenId: number) {
  return must(api.DELETE('/api/v4/groups/{id}/manage/personal_access_tokens/{token_id}/remove_access', { params: { path: { id: groupId, token_id: tokenId } } }))
}

/** Whether this group's owners removed the token's access (the removal recorded on this group itself). */
export const removedHere = (token: Token, groupId: number) => token.group_access_removals.some((r) => r.group_id === groupId)

export type InventorySummary = Awaited<ReturnType<typeof summaryOf>>

/** The legacy report of a scope (GET …/personal_access_tokens/legacy_report): ?cutoff= asks "what if legacy tokens stopped working that day". */
export function legacyReport(scope: InventoryScope, cutoff: string | undefined, page: number, perPage = 20) {
  const query = { ...(cutoff ? { cutoff } : {}), page, per_page: perPage }
  return scope.kind === 'instance'
    ? mustPage(api.GET('/api/v4/admin/personal_access_tokens/legacy_report', { params: { query } }))
    : mustPage(api.GET('/api/v4/groups/{id}/personal_access_tokens/legacy_report', { params: { path: { id: scope.id }, query } }))
}

export type LegacyReport = Awaited<ReturnType<typeof legacyReport>>['items']
