// Approval requests of a top-level group (owners): list by state, approve, deny.
import { api, must, mustPage } from './api.js'
import type { components } from '../../../client/index.js'

export type ApprovalRequest = components['schemas']['PersonalAccessTokenRequest']
export type ApprovalState = ApprovalRequest['state']

export function listRequests(groupId: number, state: ApprovalState | undefined, page: number, perPage = 20) {
  return mustPage(api.GET('/api/v4/groups/{id}/personal_access_token_requests', {
    params: { path: { id: groupId }, query: { ...(state ? { state } : {}), page, per_page: perPage } },
  }))
}

export function decideRequest(groupId: number, requestId: number, outcome: 'approve' | 'deny', comment: string) {
  const body = comment.trim() ? { comment: comment.trim() } : {}
  const params = { path: { id: groupId, request_id: requestId } }
  return outcome === 'approve'
    ? must(api.POST('/api/v4/groups/{id}/personal_access_token_requests/{request_id}/approve', { params, body }))
    : must(api.POST('/api/v4/groups/{id}/personal_access_token_requests/{request_id}/deny', { params, body }))
}
