import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifySchemaCompiler } from 'fastify'
import { Type } from 'typebox'
import { auditContext } from '../../http/context.js'
import { registerLargeJsonBodyParser } from '../../http/json-body.js'
import { errorResponses } from '../../http/schemas.js'
import { validateBulkBody } from './bulk-validation.js'
import * as S from './schemas.js'
import { createDirectoryService } from './service.js'

/**
 * 50,000 users, namespaces and memberships with realistic field lengths take about 16 MB of JSON;
 * 32 MiB leaves room for long names while bounding what one request can hold in memory. Parsing,
 * validation, planning and writing are sliced, so a body this size never holds the event loop more
 * than a few tens of milliseconds at a time (test/integration/directory/bulk-limits.test.ts).
 */
export const BULK_BODY_LIMIT = 32 * 1024 * 1024

const toUser = (u: { id: number; username: string; name: string; email: string; state: string; is_admin: boolean; kind: 'human' | 'service_account'; service_account_group_id: number | null }) => ({
  id: u.id, username: u.username, name: u.name, email: u.email, state: u.state, is_admin: u.is_admin, kind: u.kind, service_account_group_id: u.service_account_group_id,
})

export const directoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const directory = createDirectoryService(app.db, app.invalidate)
  const guard = { onRequest: app.requireScope('directory:write') }
  const tags = ['directory']
  app.addSchema(S.User)
  app.addSchema(S.Namespace)
  app.addSchema(S.Membership)

  app.put(
    '/directory/users/:id',
    {
      ...guard,
      schema: {
        tags, summary: 'Create or update a user (idempotent)', operationId: 'putDirectoryUser',
        params: S.IdParams, body: S.UserBody,
        response: { 200: Type.Ref('DirectoryUser'), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => toUser(await directory.putUser(request.params.id, request.body, auditContext(request))),
  )

  app.put(
    '/directory/namespaces/:id',
    {
      ...guard,
      schema: {
        tags, summary: 'Create, update or move a group, project or user namespace (idempotent)', operationId: 'putDirectoryNamespace',
        description: 'Moving or renaming a namespace re-parents its descendants: their full paths and traversal ids follow.',
        params: S.IdParams, body: S.NamespaceBody,
        response: { 200: Type.Ref('DirectoryNamespace'), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const ns = await directory.putNamespace(request.params.id, request.body, auditContext(request))
      return {
        id: ns.id, kind: ns.kind, path: ns.path, full_path: ns.full_path, name: ns.name, parent_id: ns.parent_id,
        owner_id: ns.owner_id, visibility: ns.visibility, traversal_ids: ns.traversal_ids,
      }
    },
  )

  app.put(
    '/directory/namespaces/:id/members/:user_id',
    {
      ...guard,
      schema: {
        tags, summary: 'Add or change a membership (idempotent)', operationId: 'putDirectoryMembership',
        params: S.MemberParams, body: S.MembershipBody,
        response: { 200: Type.Ref('DirectoryMembership'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const m = await directory.putMembership(request.params.id, request.params.user_id, request.body, auditContext(request))
      return { user_id: m.user_id, namespace_id: m.namespace_id, access_level: m.access_level, expires_at: m.expires_at }
    },
  )

  app.delete(
    '/directory/namespaces/:id/members/:user_id',
    {
      ...guard,
      schema: {
        tags, summary: 'Remove a membership (idempotent)', operationId: 'deleteDirectoryMembership',
        params: S.MemberParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      await directory.removeMembership(request.params.id, request.params.user_id, auditContext(request))
      return reply.code(204).send(null)
    },
  )

  // Its own context: 32 MiB bodies are gathered a slice at a time (registerLargeJsonBodyParser says why).
  await app.register(async (context) => {
    registerLargeJsonBodyParser(context)
    const bulk = context.withTypeProvider<TypeBoxTypeProvider>()
    bulk.post(
      '/directory/bulk',
      {
        ...guard,
        bodyLimit: BULK_BODY_LIMIT,
        // The documented schema is BulkBody; it is checked a slice of items at a time (bulk-validation.ts).
        validatorCompiler: ({ httpPart }) => {
          if (httpPart !== 'body') throw new Error(`/directory/bulk has no ${httpPart} schema`)
          // Fastify awaits a validator's promise (its type wants a branded one)
          return validateBulkBody as unknown as ReturnType<FastifySchemaCompiler<unknown>>
        },
        schema: {
          tags, summary: 'Load users, namespaces and memberships in one transaction (initial sync)', operationId: 'bulkLoadDirectory',
          description: 'All or nothing. Namespaces may come in any order: parents in the same payload are placed first. At most 50,000 of each kind and 32 MiB of JSON (larger: 413); other endpoints accept 256 KiB.',
          body: S.BulkBody,
          response: { 200: S.BulkResult, ...errorResponses(400, 401, 403, 409, 413) },
        },
      },
      async (request) => directory.bulkLoad(request.body, auditContext(request)),
    )
  })
}
