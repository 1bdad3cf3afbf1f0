import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import { createPolicyService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller

export const policyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const policies = createPolicyService({ db: app.db, config: app.config, clock: app.clock, invalidate: app.invalidate })
  const tags = ['governance']
  // Admin PATs pass through isAdminCaller (legacy api or an instance scope); owners' PATs need the
  // group permission on the group itself, checked by the service.
  const admin = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }
  const owner = admin

  app.get('/application/settings/personal_access_tokens', {
    ...admin,
    schema: {
      tags, operationId: 'showInstanceTokenSettings', summary: 'Instance token settings (administrators)',
      response: { 200: S.InstanceSettings, ...errorResponses(401, 403) },
    },
  }, async (request) => policies.instanceSettings(caller(request)))

  app.put('/application/settings/personal_access_tokens', {
    ...admin,
    schema: {
      tags, operationId: 'updateInstanceTokenSettings', summary: 'Change instance token settings (administrators)',
      description: 'Only the fields sent change. Takes effect on the very next decision; every change is audited.',
      body: S.UpdateInstanceSettingsBody, response: { 200: S.InstanceSettings, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => policies.updateInstanceSettings(caller(request), request.body, auditContext(request)))

  app.get('/groups/:id/personal_access_token_policy', {
    ...owner,
    schema: {
      tags, operationId: 'showGroupTokenPolicy', summary: 'Token policy of a top-level group (owners, administrators)',
      params: S.GroupParams, response: { 200: S.GroupPolicy, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => policies.groupPolicy(caller(request), request.params.id))

  app.put('/groups/:id/personal_access_token_policy', {
    ...owner,
    schema: {
      tags, operationId: 'updateGroupTokenPolicy', summary: 'Change the token policy of a top-level group (owners, administrators)',
      description: 'Applies to decisions on the group and everything below it, and to tokens that reach it; the stricter of this and the instance settings wins.',
      params: S.GroupParams, body: S.UpdateGroupPolicyBody, response: { 200: S.GroupPolicy, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => policies.updateGroupPolicy(caller(request), request.params.id, request.body, auditContext(request)))
}
