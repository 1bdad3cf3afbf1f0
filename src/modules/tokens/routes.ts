import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { conversionGraceDays } from '../../domain/policy.js'
import { errorResponses } from '../../http/schemas.js'
import { createPolicyGate } from '../policies/gate.js'
import { createTemplateService } from '../templates/service.js'
import { conversionProposal, createConvertService } from './convert.js'
import { createLifecycleService } from './lifecycle.js'
import { createReachService } from './reach.js'
import { computeRecommendation, createRecommendationService } from './recommendation.js'
import * as R from './recommendation-schemas.js'
import * as S from './schemas.js'
import { createTokenService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller
const TokenRef = Type.Ref('PersonalAccessToken')

export const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const policies = createPolicyGate({ db: app.db, cache: app.policyCache, clock: app.clock })
  const templates = createTemplateService({ db: app.db, clock: app.clock })
  const deps = { db: app.db, config: app.config, clock: app.clock, invalidate: app.invalidate, policies, templates }
  const tokens = createTokenService(deps)
  const lifecycle = createLifecycleService(deps)
  const reach = createReachService(deps)
  const instanceGraceDays = async () => conversionGraceDays(await app.policyCache.instancePolicy())
  const recommendations = createRecommendationService(deps, { lifecycle, reach, instanceGraceDays })
  const conversions = createConvertService({
    ...deps,
    instanceGraceDays,
    recommend: async (token) => conversionProposal(await computeRecommendation(deps, token)),
  })
  app.addSchema(S.Token)
  const tags = ['tokens']
  const read = { onRequest: app.requireUser({ tokenPermission: 'read_personal_access_token', allowAdminService: true }) }
  const create = { onRequest: app.requireUser({ tokenPermission: 'create_personal_access_token', allowAdminService: true }) }
  const revoke = { onRequest: app.requireUser({ tokenPermission: 'revoke_personal_access_token', allowAdminService: true }) }
  const rotate = { onRequest: app.requireUser({ tokenPermission: 'rotate_personal_access_token', allowAdminService: true }) }
  const self = { onRequest: app.requireUser({ tokenPermission: null }) }

  app.get('/personal_access_tokens', {
    ...read,
    schema: {
      tags, operationId: 'listPersonalAccessTokens', summary: 'List tokens (yours; any user\'s for admins)',
      querystring: S.ListQuery, response: { 200: Type.Array(TokenRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const page = await tokens.list(caller(request), request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  app.get('/personal_access_tokens/self', {
    ...self,
    schema: { tags, operationId: 'showSelfPersonalAccessToken', summary: 'The token you authenticate with', response: { 200: TokenRef, ...errorResponses(400, 401) } },
  }, async (request) => tokens.show(caller(request), 'self'))

  app.get('/personal_access_tokens/self/associations', {
    ...self,
    schema: {
      tags, operationId: 'selfPersonalAccessTokenAssociations', summary: 'Groups and projects the token you authenticate with can reach',
      description: 'As GitLab: min_access_level keeps the groups and projects where the owner\'s role is at least that; groups and projects are each ' +
        'paginated with the same page and per_page, and the pagination headers describe the longer of the two lists.',
      querystring: S.AssociationsQuery, response: { 200: S.Associations, ...errorResponses(400, 401) },
    },
  }, async (request, reply) => {
    const { page, body } = await reach.associations(caller(request), request.query)
    setPaginationHeaders(request, reply, page)
    return body
  })

  app.delete('/personal_access_tokens/self', {
    ...self,
    schema: { tags, operationId: 'revokeSelfPersonalAccessToken', summary: 'Revoke the token you authenticate with', response: { 204: Type.Null(), ...errorResponses(400, 401) } },
  }, async (request, reply) => {
    await tokens.revoke(caller(request), 'self', auditContext(request))
    return reply.code(204).send(null)
  })

  app.post('/personal_access_tokens/self/rotate', {
    ...rotate,
    schema: {
      tags, operationId: 'rotateSelfPersonalAccessToken', summary: 'Rotate the token you authenticate with',
      body: S.RotateBody, response: { 200: TokenRef, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request) => lifecycle.rotate(caller(request), 'self', request.body?.expires_at, auditContext(request)))

  app.post('/personal_access_tokens/preview', {
    ...read,
    schema: {
      tags, operationId: 'previewPersonalAccessToken', summary: 'Dry run: validate scopes and show what they would reach',
      description: 'Nothing is stored. Invalid scopes, what policy would refuse (policy_violation) and, when expires_at is sent, an expiry ' +
        'the rules would refuse answer 200 with valid=false and the errors at their fields, so a form can show them. expiry gives the rules ' +
        'in force for these scopes (default and latest expires_at, whether an expiry is required); for legacy scopes, granular_equivalent ' +
        'gives the fine-grained scopes to convert to. Any signed-in user can preview for themselves.',
      body: S.PreviewBody, response: { 200: S.Preview, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => reach.preview(caller(request), request.body))

  app.get('/personal_access_tokens/:id', {
    ...read,
    schema: { tags, operationId: 'showPersonalAccessToken', summary: 'Show a token', params: S.TokenParams, response: { 200: TokenRef, ...errorResponses(401, 403, 404) } },
  }, async (request) => tokens.show(caller(request), request.params.id))

  app.delete('/personal_access_tokens/:id', {
    ...revoke,
    schema: {
      tags, operationId: 'revokePersonalAccessToken', summary: 'Revoke a token', params: S.TokenParams, body: S.RevokeBody,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await tokens.revoke(caller(request), request.params.id, auditContext(request), undefined, undefined, request.body?.reason)
    return reply.code(204).send(null)
  })

  app.post('/personal_access_tokens/:id/rotate', {
    ...rotate,
    schema: {
      tags, operationId: 'rotatePersonalAccessToken', summary: 'Rotate: new secret, same name and scopes; the old token is revoked',
      description: 'Without expires_at the new token keeps the old one\'s lifetime length (capped by the maximum). The same caller rotating the same token again within ROTATION_RETRY_LEEWAY (60 s) — a double click, a retry after a lost response, concurrent requests — gets 409 already_rotated with the successor\'s id (successor_id) and nothing changes; only one successor is ever issued. Rotating an already rotated token otherwise is treated as a leak: its whole rotation chain is revoked (400 token_reused).',
      params: S.TokenParams, body: S.RotateBody, response: { 200: TokenRef, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => lifecycle.rotate(caller(request), request.params.id, request.body?.expires_at, auditContext(request)))

  app.post('/personal_access_tokens/:id/duplicate', {
    ...create,
    schema: {
      tags, operationId: 'duplicatePersonalAccessToken', summary: 'Create a new token with the same permissions and reach, or with changes',
      description: 'Without a body: a copy named "<name> (copy)" with the original\'s scopes, re-checked against today\'s memberships and policy, and its lifetime length. ' +
        'name, description, expires_at, and scopes or granular_scopes override the copy and are validated as on creation, under the same policy. ' +
        'granular_scopes on a legacy token makes a fine-grained copy: the path from legacy to fine-grained (the original keeps working until revoked).',
      params: S.TokenParams, body: S.DuplicateBody, response: { 201: TokenRef, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(201).send(await lifecycle.duplicate(caller(request), request.params.id, request.body ?? {}, auditContext(request))))

  app.post('/personal_access_tokens/:id/convert', {
    ...create,
    schema: {
      tags, operationId: 'convertPersonalAccessToken', summary: 'Convert a legacy token to fine-grained: a successor with only what it needs; the legacy one is revoked after a grace period',
      description: 'For a live legacy token of yours (any user\'s for administrators). Issues a fine-grained successor, validated and policy-checked as on ' +
        'creation, whose secret is returned once (201, as creation; `converted_from` names the legacy token). Without granular_scopes the successor gets the ' +
        'usage recommendation: what the legacy token was seen doing through /authorize, narrowed to where it did it; when there is too little evidence ' +
        'for one the answer is 422 insufficient_evidence (send granular_scopes). The legacy token keeps working for grace_days (at most, and by default, ' +
        'the instance setting legacy_conversion_grace_days, 14), then the sweep revokes it (revoke_reason converted); its owner is mailed at conversion, ' +
        'three days before the end, and at revocation. 409: not_a_legacy_token, already_converted (successor_id), token_revoked, token_expired.',
      params: S.TokenParams, body: S.ConvertBody, response: { 201: TokenRef, ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => reply.code(201).send(await conversions.convert(caller(request), request.params.id, request.body ?? {}, auditContext(request))))

  app.patch('/personal_access_tokens/:id', {
    ...create,
    schema: {
      tags, operationId: 'updatePersonalAccessToken', summary: 'Edit name, description, expiry or granular scopes; the secret stays',
      params: S.TokenParams, body: S.UpdateTokenBody, response: { 200: TokenRef, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => lifecycle.update(caller(request), request.params.id, request.body, auditContext(request)))

  app.get('/personal_access_tokens/:id/recommendation', {
    ...read,
    schema: {
      tags, operationId: 'recommendPersonalAccessTokenScopes', summary: 'Least privilege: the smallest granular scopes that would have allowed what the token did',
      description: 'From the decisions recorded for the token in the last `days` days (POST /authorize, introspection): the permissions it used and where, ' +
        'what it tried and was denied (listed, never recommended), what it holds but never used, and recommended_granular_scopes — the permissions used, ' +
        'narrowed to the projects and groups touched, a group instead of its projects when more than half (and at least 2) of the projects the token reaches ' +
        'in it were used; user and instance scopes for what was used there. Never broader than the token is today. With too little evidence (fewer than 10 ' +
        'allowed decisions, or all on one day) recommended_granular_scopes is null and reason says why. preview shows what the recommended scopes reach; ' +
        'apply says how to apply them in one call. Owner or administrators; anyone else gets 404.',
      params: S.TokenParams, querystring: R.RecommendationQuery, response: { 200: R.Recommendation, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => recommendations.show(caller(request), request.params.id, request.query.days))

  app.post('/personal_access_tokens/:id/recommendation/apply', {
    ...create,
    schema: {
      tags, operationId: 'applyPersonalAccessTokenRecommendation', summary: 'Apply the least-privilege recommendation: the token keeps only what it used',
      description: 'Recomputes the recommendation (same window, default 30 days) and replaces the token\'s granular scopes with it through the ordinary edit ' +
        '(PATCH /personal_access_tokens/:id): validated, checked against policy, audited as token.updated with source: recommendation, and mailed to the owner. ' +
        'The secret stays. 409 stale_version when expected_version is not the token\'s version; 422 insufficient_evidence when there is too little evidence; ' +
        '409 already_least_privilege when nothing would change; 409 legacy_token for a legacy token (convert it instead).',
      params: S.TokenParams, body: R.ApplyRecommendationBody, response: { 200: R.AppliedRecommendation, ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request) => recommendations.apply(caller(request), request.params.id, request.body ?? {}, auditContext(request)))

  app.post('/user/personal_access_tokens', {
    ...create,
    schema: {
      tags, operationId: 'createOwnPersonalAccessToken', summary: 'Create a token for yourself',
      body: S.CreateTokenBody, response: { 201: TokenRef, ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => reply.code(201).send(await tokens.create(caller(request), undefined, request.body, auditContext(request))))

  app.post('/users/:id/personal_access_tokens', {
    ...create,
    schema: {
      tags, operationId: 'createUserPersonalAccessToken', summary: 'Create a token for a user (administrators; yourself otherwise)',
      params: S.UserParams, body: S.CreateTokenBody, response: { 201: TokenRef, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(201).send(await tokens.create(caller(request), request.params.id, request.body, auditContext(request))))

  app.post('/admin/token', {
    onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }),
    schema: {
      tags, operationId: 'adminTokenInformation', summary: 'Look up a token by its raw value (administrators)',
      body: S.RawTokenBody, response: { 200: TokenRef, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => tokens.adminLookup(caller(request), request.body.token))

  app.delete('/admin/token', {
    onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }),
    schema: {
      tags, operationId: 'adminRevokeToken', summary: 'Revoke a token by its raw value (administrators)',
      body: S.RawTokenBody, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await tokens.adminRevoke(caller(request), request.body.token, auditContext(request))
    return reply.code(204).send(null)
  })
}
