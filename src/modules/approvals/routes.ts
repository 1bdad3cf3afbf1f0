// Owners of a top-level group that requires approval list, approve and deny the requests of tokens
// that gained reach into it. To anyone but its owners and administrators the group does not exist.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import type { ApprovalService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller

export const approvalRoutes: FastifyPluginAsyncTypebox<{ service: ApprovalService }> = async (app, opts) => {
  const approvals = opts.service
  app.addSchema(S.ApprovalRequest)
  const tags = ['governance']
  const user = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }
  const RequestRef = Type.Ref('PersonalAccessTokenRequest')

  app.get('/groups/:id/personal_access_token_requests', {
    ...user,
    schema: {
      tags, operationId: 'listGroupPersonalAccessTokenRequests', summary: 'Approval requests of tokens reaching a top-level group (owners, administrators)',
      description: 'Newest first; filter by `state`. GitLab-style pagination (`X-Total`, `X-Next-Page`, `Link`).',
      params: S.GroupParams, querystring: S.ListQuery, response: { 200: Type.Array(RequestRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const page = await approvals.list(caller(request), request.params.id, request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  for (const outcome of ['approve', 'deny'] as const) {
    app.post(`/groups/:id/personal_access_token_requests/:request_id/${outcome}`, {
      ...user,
      schema: {
        tags,
        operationId: outcome === 'approve' ? 'approveGroupPersonalAccessTokenRequest' : 'denyGroupPersonalAccessTokenRequest',
        summary: outcome === 'approve' ? 'Approve a token\'s reach into the group (owners, administrators)' : 'Deny a token\'s reach into the group (owners, administrators)',
        description: outcome === 'approve'
          ? 'The token works on the group\'s resources at once (within its scopes). Its owner is told by mail. The same decision again changes nothing; a decided or expired request answers 409.'
          : 'The token stays denied on the group\'s resources (`approval_pending`) and works elsewhere. Its owner is told by mail. The same decision again changes nothing; a decided or expired request answers 409.',
        params: S.RequestParams, body: S.DecisionBody, response: { 200: RequestRef, ...errorResponses(400, 401, 403, 404, 409) },
      },
    }, async (request) => {
      const { id, request_id } = request.params
      return approvals[outcome](caller(request), id, request_id, request.body?.comment, auditContext(request))
    })
  }
}
