import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { tokenState } from '../../domain/dates.js'
import { candidateDigests, isWellFormedToken } from '../../domain/token-format.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import type { AuthorizeService } from './service.js'
import type { Decision } from '../../domain/decide.js'

/** Paths whose requests are not logged one by one (Fastify's `disableRequestLogging`). */
export const QUIET_PATHS: ReadonlySet<string> = new Set(['/api/v4/authorize', '/api/v4/authorize/batch', '/oauth/introspect'])

// As GitHub's X-Accepted-GitHub-Permissions: on an answer to a forwarded GitLab request, the
// permissions that would allow it, so the backend can pass them on in its 403. The list is the
// route's (shared by every answer about that route), so its header value is made once.
export const ACCEPTED_HEADER = 'x-accepted-permissions'
const acceptedValues = new WeakMap<readonly string[], string>()
function acceptedHeader(reply: FastifyReply, decision: Decision): Decision {
  const accepted = decision.accepted_permissions
  if (accepted === undefined) return decision
  let value = acceptedValues.get(accepted)
  if (value === undefined) acceptedValues.set(accepted, (value = accepted.join(', ')))
  reply.header(ACCEPTED_HEADER, value)
  return decision
}

export const authorizeRoutes: FastifyPluginAsyncTypebox<{ service: AuthorizeService }> = async (app, { service }) => {
  app.addSchema(S.Decision)
  const tags = ['authorize']
  // The hot path logs nothing per request (QUIET_PATHS, in app.ts): decisions are counted in
  // /metrics instead. Not a route `logLevel`: that makes pino rebuild every log method of each
  // request's child logger, which costs more than the rest of a cached decision.
  const hot = { onRequest: app.requireScope('authorize') }

  app.post('/api/v4/authorize', {
    ...hot,
    schema: {
      tags, operationId: 'authorize', summary: 'May this token do this on this resource?',
      description: 'A well-formed question always answers 200 with the decision; denials carry a stable reason code. 4xx is only for a bad request or a caller without the authorize scope. '
        + 'Ask either with permission(s) + resource, or with request: {method, path} of the GitLab REST request the backend received; the route table (each permission\'s routes in GET /api/v4/permissions) '
        + 'then names the permission and the resource, the answer carries them with accepted_permissions, and the X-Accepted-Permissions header lists the permissions that would allow it. '
        + 'A path in no route is a 400 unknown_route; a known path with another method a 400 unsupported_method; a path with bad percent-encoding, dot segments or over 2048 characters a 400 invalid_request_path.',
      body: S.AuthorizeBody, response: { 200: Type.Ref('Decision'), ...errorResponses(400, 401, 403, 503) },
    },
  }, (request, reply) => {
    // Not an async handler: a decision from L1 is answered without a promise (service.authorize).
    const answer = service.authorize(request.body)
    if (answer instanceof Promise) return request.body.request === undefined ? answer : answer.then((d) => acceptedHeader(reply, d))
    return reply.send(acceptedHeader(reply, answer))
  })

  app.post('/api/v4/authorize/batch', {
    ...hot,
    schema: {
      tags, operationId: 'authorizeBatch', summary: 'Up to 100 checks for one token',
      body: S.BatchBody, response: { 200: S.BatchResult, ...errorResponses(400, 401, 403, 503) },
    },
  }, async (request) => ({ results: await service.batch(request.body.token, request.body.checks, request.body.ip) }))

  // RFC 7662 token introspection; the request may be a form (as the RFC says) or JSON. Either holds a
  // token (≤ 200 characters) and a hint, so a few KiB is plenty. A repeated field keeps its last
  // value; a field such as `__proto__` becomes an own property the schema refuses.
  const INTROSPECTION_BODY_LIMIT = 8 * 1024
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: INTROSPECTION_BODY_LIMIT }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.post('/oauth/introspect', {
    ...hot,
    bodyLimit: INTROSPECTION_BODY_LIMIT,
    schema: {
      tags, operationId: 'introspect', summary: 'RFC 7662 token introspection',
      description: 'active:false for anything not a live token, with no other detail.',
      body: S.IntrospectBody, response: { 200: S.Introspection, ...errorResponses(400, 401, 403, 413) },
    },
  }, async (request) => service.bounded(introspect(request.body.token, request)))

  async function introspect(token: string, request: FastifyRequest) {
    if (!isWellFormedToken(token)) return { active: false }
    const row = await app.db
      .selectFrom('personal_access_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.kind', 't.scopes', 't.expires_at', 't.revoked_at', 't.revoke_reason', 't.created_at', 't.user_id', 'u.username', 'u.state'])
      .where('t.token_digest', 'in', candidateDigests(app.config.tokenPeppers, token))
      .executeTakeFirst()
    if (row?.revoked_at && row.revoke_reason === 'rotated') app.reuse.report({ tokenId: row.id, ip: request.ip, via: 'introspection', requestId: request.id })
    if (!row || row.state !== 'active' || tokenState(row, app.clock()) !== 'active') return { active: false }
    const permissions = row.kind === 'legacy'
      ? row.scopes
      : [...new Set((await app.db.selectFrom('personal_access_token_scopes').select('permissions').where('token_id', '=', row.id).execute()).flatMap((s) => s.permissions))].sort()
    return {
      active: true,
      scope: permissions.join(' '),
      token_type: row.kind === 'legacy' ? 'legacy_personal_access_token' : 'fine_grained_personal_access_token',
      username: row.username,
      sub: String(row.user_id),
      client_id: `personal_access_token:${row.id}`,
      iat: Math.floor(row.created_at.getTime() / 1000),
      ...(row.expires_at ? { exp: Math.floor(Date.parse(`${row.expires_at}T00:00:00Z`) / 1000) } : {}),
    }
  }
}
