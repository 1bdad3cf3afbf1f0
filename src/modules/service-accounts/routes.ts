import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import { RotateBody, Token } from '../tokens/schemas.js'
import * as S from './schemas.js'
import type { ServiceAccountService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller
const TokenRef = Type.Ref('PersonalAccessToken')
const AccountRef = Type.Ref('ServiceAccount')
const WHO = 'Owners of the group and administrators; to anyone else the group, its accounts and their tokens do not exist (404).'

export const serviceAccountRoutes: FastifyPluginAsyncTypebox<{ service: ServiceAccountService }> = async (app, opts) => {
  const accounts = opts.service
  app.addSchema(Token)
  app.addSchema(S.ServiceAccount)
  const tags = ['service accounts']
  const user = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }
  const base = '/groups/:id/service_accounts'

  app.post(base, {
    ...user,
    schema: {
      tags, operationId: 'createGroupServiceAccount', summary: 'Create a service account owned by this top-level group',
      description: `${WHO} A user with no interactive login (no user JWT or console sign-in acts for it), made a member of the group at access_level ` +
        '(default 30, developer; GitLab adds members separately, but here memberships come from the directory and the account would otherwise reach nothing). ' +
        '400 top_level_group_required for a subgroup.',
      params: S.GroupParams, body: S.CreateServiceAccountBody, response: { 201: AccountRef, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => reply.code(201).send(await accounts.create(caller(request), request.params.id, request.body, auditContext(request))))

  app.get(base, {
    ...user,
    schema: {
      tags, operationId: 'listGroupServiceAccounts', summary: 'The group\'s service accounts',
      description: WHO, params: S.GroupParams, querystring: S.ListServiceAccountsQuery, response: { 200: Type.Array(AccountRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const page = await accounts.list(caller(request), request.params.id, request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  app.get(`${base}/:user_id`, {
    ...user,
    schema: {
      tags, operationId: 'showGroupServiceAccount', summary: 'One of the group\'s service accounts',
      description: WHO, params: S.AccountParams, response: { 200: AccountRef, ...errorResponses(401, 403, 404) },
    },
  }, async (request) => accounts.show(caller(request), request.params.id, request.params.user_id))

  app.delete(`${base}/:user_id`, {
    ...user,
    schema: {
      tags, operationId: 'deleteGroupServiceAccount', summary: 'Delete a service account: its live tokens are revoked',
      description: `${WHO} The account is deactivated rather than erased (its tokens' history refers to it): its memberships go and its live tokens are ` +
        'revoked (revoke_reason service_account_deleted). 204, also when it already was.',
      params: S.AccountParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await accounts.remove(caller(request), request.params.id, request.params.user_id, auditContext(request))
    return reply.code(204).send(null)
  })

  app.post(`${base}/:user_id/personal_access_tokens`, {
    ...user,
    schema: {
      tags, operationId: 'createGroupServiceAccountToken', summary: 'Create a token for the service account (the secret is returned to you, once)',
      description: `${WHO} Fine-grained only, and only within the group: selected_memberships scopes on the group or inside it; anything else is ` +
        '400 scope_outside_group. Validated and checked against policy as any token; audited as token.created by you; the group\'s owners are mailed.',
      params: S.AccountParams, body: S.CreateAccountTokenBody, response: { 201: TokenRef, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(201).send(await accounts.createToken(caller(request), request.params.id, request.params.user_id, request.body, auditContext(request))))

  app.get(`${base}/:user_id/personal_access_tokens`, {
    ...user,
    schema: {
      tags, operationId: 'listGroupServiceAccountTokens', summary: 'The service account\'s tokens',
      description: WHO, params: S.AccountParams, querystring: S.ListAccountTokensQuery, response: { 200: Type.Array(TokenRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const page = await accounts.listTokens(caller(request), request.params.id, request.params.user_id, request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  app.post(`${base}/:user_id/personal_access_tokens/:token_id/rotate`, {
    ...user,
    schema: {
      tags, operationId: 'rotateGroupServiceAccountToken', summary: 'Rotate one of the service account\'s tokens (the new secret is returned to you)',
      description: `${WHO} As POST /personal_access_tokens/:id/rotate: same name and scopes, the old token revoked, retries within the leeway answered 409 already_rotated.`,
      params: S.AccountTokenParams, body: RotateBody, response: { 200: TokenRef, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => accounts.rotateToken(caller(request), request.params.id, request.params.user_id, request.params.token_id, request.body?.expires_at, auditContext(request)))

  app.delete(`${base}/:user_id/personal_access_tokens/:token_id`, {
    ...user,
    schema: {
      tags, operationId: 'revokeGroupServiceAccountToken', summary: 'Revoke one of the service account\'s tokens (revoke_reason group_owner)',
      description: `${WHO} 204, also when it already was revoked.`,
      params: S.AccountTokenParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await accounts.revokeToken(caller(request), request.params.id, request.params.user_id, request.params.token_id, auditContext(request))
    return reply.code(204).send(null)
  })
}
