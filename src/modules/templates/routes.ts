import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import type { TemplateService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller

export const templateRoutes: FastifyPluginAsyncTypebox<{ service: TemplateService }> = async (app, opts) => {
  const templates = opts.service
  const tags = ['templates']
  const read = { onRequest: app.requireUser({ tokenPermission: 'read_personal_access_token', allowAdminService: true }) }
  const write = { onRequest: app.requireUser({ tokenPermission: 'create_personal_access_token', allowAdminService: true }) }

  app.get('/personal_access_token_templates', {
    ...read,
    schema: {
      tags, operationId: 'listTokenTemplates', summary: 'Templates you can create tokens from: built-in, instance, your groups\' and your own',
      querystring: S.TemplateListQuery, response: { 200: Type.Array(S.Template), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => templates.list(caller(request), request.query))

  app.post('/personal_access_token_templates', {
    ...write,
    schema: {
      tags, operationId: 'createTokenTemplate', summary: 'Create a personal, group (owners) or instance (administrators) template',
      body: S.CreateTemplateBody, response: { 201: S.Template, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => reply.code(201).send(await templates.create(caller(request), request.body, auditContext(request))))

  app.patch('/personal_access_token_templates/:id', {
    ...write,
    schema: {
      tags, operationId: 'updateTokenTemplate', summary: 'Change a template you manage (built-ins are read-only)',
      params: S.TemplateParams, body: S.UpdateTemplateBody, response: { 200: S.Template, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => templates.update(caller(request), request.params.id, request.body, auditContext(request)))

  app.delete('/personal_access_token_templates/:id', {
    ...write,
    schema: {
      tags, operationId: 'deleteTokenTemplate', summary: 'Delete a template you manage; tokens made from it keep their scopes',
      params: S.TemplateParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await templates.remove(caller(request), request.params.id, auditContext(request))
    return reply.code(204).send(null)
  })
}
