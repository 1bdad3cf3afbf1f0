import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { errorResponses, Nullable, PerPage, Timestamp } from '../../http/schemas.js'
import { createAuditLogService } from './log.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller

const AuditEvent = Type.Object({
  id: Type.Integer(),
  occurred_at: Type.String(),
  actor: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
  action: Type.String({ description: 'e.g. token.created, token.revoked, policy.group_updated, template.created' }),
  target: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
  namespace_id: Nullable(Type.Integer()),
  details: Type.Record(Type.String(), Type.Unknown()),
  ip: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
})

const AuditQuery = Type.Object(
  {
    actor_type: Type.Optional(Type.String({ maxLength: 50, description: 'user, token, service, system' })),
    actor_id: Type.Optional(Type.String({ maxLength: 100 })),
    action: Type.Optional(Type.String({ maxLength: 100, description: 'Exact action, or a prefix ending in "." (token.)' })),
    target_type: Type.Optional(Type.String({ maxLength: 100 })),
    target_id: Type.Optional(Type.String({ maxLength: 100 })),
    created_after: Type.Optional(Timestamp('ISO 8601 date or date-time, inclusive')),
    created_before: Type.Optional(Timestamp('ISO 8601 date or date-time, exclusive')),
    before_id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Keyset cursor: events older than this id (from X-Next-Before-Id)' })),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)

function keysetHeaders(request: FastifyRequest, reply: FastifyReply, next: number | null) {
  if (next === null) return
  const url = new URL(request.url, 'http://placeholder')
  url.searchParams.set('before_id', String(next))
  reply.header('x-next-before-id', String(next))
  reply.header('link', `<${request.protocol}://${request.host}${url.pathname}${url.search}>; rel="next"`)
}

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const log = createAuditLogService({ db: app.db, clock: app.clock })
  const tags = ['governance']
  const user = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }

  app.get('/audit_events', {
    ...user,
    schema: {
      tags, operationId: 'listAuditEvents', summary: 'The audit log (administrators), newest first, keyset-paginated',
      querystring: AuditQuery, response: { 200: Type.Array(AuditEvent), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const page = await log.instance(caller(request), request.query)
    keysetHeaders(request, reply, page.nextBeforeId)
    return page.items
  })

  app.get('/groups/:id/audit_events', {
    ...user,
    schema: {
      tags, operationId: 'listGroupAuditEvents', summary: 'Audit events of a group and everything below it (owners, administrators)',
      description: 'Also every event about a token that reached the group when it happened: scoped on the group, below it or above it, ' +
        'or a legacy / all_memberships token of a member of any of those. A token scoped on a sibling group is not shown.',
      params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
      querystring: AuditQuery, response: { 200: Type.Array(AuditEvent), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const page = await log.group(caller(request), request.params.id, request.query)
    keysetHeaders(request, reply, page.nextBeforeId)
    return page.items
  })
}
