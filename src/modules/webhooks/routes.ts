// Webhook endpoints, twice: the instance's under /admin (administrators; every token event) and a
// group's under /groups/:id (owners of the group or above it; events of tokens that reach it).
// One table of routes, registered for both scopes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import { createWebhookService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller

const SCOPES = [
  { base: '/admin/personal_access_token_webhooks', name: 'Instance', who: 'administrators', group: false },
  { base: '/groups/:id/personal_access_token_webhooks', name: 'Group', who: 'group owners, administrators', group: true },
] as const

export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const hooks = createWebhookService({ db: app.db, config: app.config, clock: app.clock })
  const tags = ['webhooks']
  const auth = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }

  for (const scope of SCOPES) {
    const { base, name, who } = scope
    const groupOf = (request: FastifyRequest) => (scope.group ? (request.params as { id: number }).id : null)
    const one = `${base}/:webhook_id`
    const params = scope.group ? S.GroupWebhookParams : S.WebhookParams
    const err = (...s: number[]) => errorResponses(...(scope.group ? [...s, 404] : s).filter((v, i, a) => a.indexOf(v) === i))
    const id = (request: FastifyRequest) => (request.params as { webhook_id: number }).webhook_id

    app.get(base, {
      ...auth,
      schema: { tags, operationId: `list${name}Webhooks`, summary: `${name} webhooks (${who})`, ...(scope.group ? { params: S.GroupParams } : {}), response: { 200: Type.Array(S.Webhook), ...err(400, 401, 403) } },
    }, async (request) => hooks.list(caller(request), groupOf(request)))

    app.post(base, {
      ...auth,
      schema: {
        tags, operationId: `create${name}Webhook`, summary: `Register a ${name.toLowerCase()} webhook (${who})`,
        description: 'Answers the signing secret once (Standard Webhooks, whsec_…). The URL is refused when its host resolves to a loopback, private, link-local, unique-local, multicast or unspecified address, unless WEBHOOK_ALLOWED_RANGES contains it; https is required outside those ranges.',
        ...(scope.group ? { params: S.GroupParams } : {}), body: S.CreateWebhookBody, response: { 201: S.WebhookWithSecret, ...err(400, 401, 403) },
      },
    }, async (request, reply) => reply.code(201).send(await hooks.create(caller(request), groupOf(request), request.body, auditContext(request))))

    app.get(one, {
      ...auth,
      schema: { tags, operationId: `show${name}Webhook`, summary: `A ${name.toLowerCase()} webhook`, params, response: { 200: S.Webhook, ...err(400, 401, 403, 404) } },
    }, async (request) => hooks.show(caller(request), groupOf(request), id(request)))

    app.put(one, {
      ...auth,
      schema: {
        tags, operationId: `update${name}Webhook`, summary: `Change a ${name.toLowerCase()} webhook`, description: 'Only the fields sent change; "enabled": true re-enables an endpoint disabled after persistent failure.',
        params, body: S.UpdateWebhookBody, response: { 200: S.Webhook, ...err(400, 401, 403, 404) },
      },
    }, async (request) => hooks.update(caller(request), groupOf(request), id(request), request.body, auditContext(request)))

    app.delete(one, {
      ...auth,
      schema: { tags, operationId: `delete${name}Webhook`, summary: `Delete a ${name.toLowerCase()} webhook and its delivery log`, params, response: { 204: Type.Null(), ...err(400, 401, 403, 404) } },
    }, async (request, reply) => {
      await hooks.remove(caller(request), groupOf(request), id(request), auditContext(request))
      return reply.code(204).send(null)
    })

    app.post(`${one}/rotate_secret`, {
      ...auth,
      schema: {
        tags, operationId: `rotate${name}WebhookSecret`, summary: `New signing secret for a ${name.toLowerCase()} webhook`,
        description: 'The old secret stops signing at once; the new one is answered only now.', params, response: { 200: S.WebhookWithSecret, ...err(400, 401, 403, 404) },
      },
    }, async (request) => hooks.rotateSecret(caller(request), groupOf(request), id(request), auditContext(request)))

    app.get(`${one}/deliveries`, {
      ...auth,
      schema: {
        tags, operationId: `list${name}WebhookDeliveries`, summary: `Delivery log of a ${name.toLowerCase()} webhook, newest first`,
        params, querystring: S.PageQuery, response: { 200: Type.Array(S.Delivery), ...err(400, 401, 403, 404) },
      },
    }, async (request, reply) => {
      const page = request.query.page ?? 1
      const perPage = request.query.per_page ?? 20
      const { items, total } = await hooks.deliveries(caller(request), groupOf(request), id(request), page, perPage)
      setPaginationHeaders(request, reply, { total, page, perPage })
      return items
    })

    app.post(`${one}/deliveries/:delivery_id/redeliver`, {
      ...auth,
      schema: {
        tags, operationId: `redeliver${name}WebhookDelivery`, summary: 'Deliver an event again',
        description: 'Same payload and webhook-id (receivers de-duplicate on it), a fresh timestamp and signature, a fresh retry budget.',
        params: scope.group ? S.GroupDeliveryParams : S.DeliveryParams, response: { 202: S.Delivery, ...err(400, 401, 403, 404, 409) },
      },
    }, async (request, reply) => {
      const p = request.params as { webhook_id: number; delivery_id: number }
      return reply.code(202).send(await hooks.redeliver(caller(request), groupOf(request), p.webhook_id, p.delivery_id, auditContext(request)))
    })
  }
}
