// Caller authentication for every protected route: JWT (user or service) or a personal access token.
// Runs as an onRequest hook, before the body is parsed or validated: an unauthenticated caller learns
// nothing about the schema.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, forbidden, unauthorized } from '../http/errors.js'
import { type Caller, type TokenCaller, tokenCallerHolds } from './caller.js'
import { FailureLimiter } from './failure-limiter.js'
import { createJwtVerifier, looksLikeJwt, type VerifiedJwt } from './jwt.js'
import { alreadyRotated } from '../modules/tokens/lifecycle.js'
import { successorOf } from '../modules/tokens/repository.js'
import { lookupTokenBySecret } from './pat.js'

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null
  }
  interface FastifyInstance {
    /** Any JWT caller (service or user) whose `scope` claim holds `scope`. */
    requireScope: (scope: string) => onRequestHookHandler
    /**
     * A directory user: by JWT, or by PAT when `tokenPermission` is null (self endpoints) or the
     * token holds that permission. Services with `tokens:admin` pass when `allowAdminService`.
     */
    requireUser: (opts: { tokenPermission: string | null; allowAdminService?: boolean }) => onRequestAsyncHookHandler
    /**
     * A failed authentication of a route's own kind (a leak report's bad signature): counted per
     * address with the others, rethrown, or a 429 once the address is over AUTH_FAILURE_LIMIT.
     */
    refuseAuthFailure: (request: FastifyRequest, reply: FastifyReply, err: AppError) => Promise<never>
  }
}

const TOKEN_FAILURES: Record<string, string> = {
  malformed_token: 'The token is malformed',
  token_not_found: 'The token is not valid',
  token_revoked: 'Token was revoked. You have to re-authorize from the user.',
  token_expired: 'Token has expired',
  user_inactive: 'The token owner is blocked or deactivated',
}

const SELF_ROTATE = '/api/v4/personal_access_tokens/self/rotate'

/** A service account has no interactive login: no user JWT (console session) acts for it. */
export const serviceAccountSession = () => new AppError(403, 'service_account_no_login',
  'This user is a service account: it has no interactive login and no user JWT acts for it. It works only through the personal access tokens its group\'s owners create')

// What a service account's own token may not do: issue tokens (create, duplicate, convert, edit,
// rotate). Its group's owners do that (POST /groups/:id/service_accounts/:user_id/personal_access_tokens…),
// so a leaked service-account token cannot mint successors the owners do not know about.
const GROUP_MANAGED = new Set(['create_personal_access_token', 'rotate_personal_access_token'])
const serviceAccountSelfManagement = (groupId: number | null) => new AppError(403, 'service_account_tokens_managed_by_group',
  `A service account cannot create, edit or rotate tokens itself; the owners of its group do (POST /api/v4/groups/${groupId}/service_accounts/:user_id/personal_access_tokens)`)

function presentedCredential(request: FastifyRequest): string | undefined {
  const privateToken = request.headers['private-token']
  if (typeof privateToken === 'string' && privateToken) return privateToken
  const authz = request.headers.authorization
  if (typeof authz === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(authz)
    if (m) return m[1]
  }
  return undefined
}

export const authPlugin = fp(
  async (app: FastifyInstance) => {
    const verifyJwt = createJwtVerifier(app.config.auth)
    const now = () => app.clock()
    // Failed authentications per client address in a one-minute window (from its first failure),
    // counted across instances in Redis. Only failures are counted and only failures are refused:
    // a credential is always checked first, so a valid caller is never locked out by failures that
    // others send from its address (a shared NAT, a proxy, or an attacker spoofing it).
    //
    // An address over the limit still has its credentials verified, and a valid one gets through.
    // Refusing it unseen would let anyone lock a backend out by failing from its address; letting it
    // through teaches a guesser nothing: tokens carry 256 random bits and JWTs are signed, so no
    // rate makes online guessing feasible. What the limit buys is a clear 429 for clients that keep
    // failing, and no Redis round trip per attempt once an address is over (it is then blocked in
    // this process's memory until its window ends).
    const limit = app.config.authFailureLimit
    const limiter = limit > 0
      ? new FailureLimiter({
        redis: app.redis, prefix: app.config.redisKeyPrefix, limit,
        // The same bound as every other Redis command on a request path (the client's
        // commandTimeout): one setting, REDIS_COMMAND_TIMEOUT_MS, says how long a request waits.
        redisTimeoutMs: app.config.redisCommandTimeoutMs,
        onRedisError: (err) => app.log.warn({ err: err.message }, 'failed-authentication count: Redis failed, counting in this process'),
      })
      : undefined

    // Called with what authentication threw; rethrows it, or a 429 when the address is over the limit.
    async function refuseFailure(request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<never> {
      if (!limiter || !(err instanceof AppError && err.status === 401)) throw err
      const verdict = await limiter.recordFailure(request.ip)
      if (!verdict.limited) throw err
      reply.header('retry-after', String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))))
      throw new AppError(429, 'too_many_failed_authentications', 'Too many failed authentication attempts from this address; retry later')
    }

    // Callers are answered synchronously when nothing needs I/O (a cached service JWT: every
    // /authorize call), and through a promise otherwise. The limiter is only consulted on failure,
    // so the synchronous path does no more work than authenticating.
    function authenticateLimited(request: FastifyRequest, reply: FastifyReply): Caller | Promise<Caller> {
      try {
        const caller = authenticate(request)
        return caller instanceof Promise ? caller.catch((err: unknown) => refuseFailure(request, reply, err)) : caller
      } catch (err) {
        return refuseFailure(request, reply, err)
      }
    }

    // Backends send the same service JWT with every /authorize call: the last Authorization header
    // that authenticated a service, and its caller, answer the next identical header until the JWT's
    // exp without parsing the header or reading the JWT cache. (Caller objects are never mutated.)
    let lastServiceHeader: string | undefined
    let lastServiceCaller: Caller | undefined
    let lastServiceUntil = 0

    function authenticate(request: FastifyRequest): Caller | Promise<Caller> {
      if (request.caller) return request.caller
      const authorization = request.headers.authorization
      if (authorization === lastServiceHeader && authorization !== undefined && request.headers['private-token'] === undefined && Date.now() < lastServiceUntil) {
        request.caller = lastServiceCaller!
        return lastServiceCaller!
      }
      const credential = presentedCredential(request)
      if (!credential) throw unauthorized()
      if (!looksLikeJwt(credential)) return tokenCaller(request, credential)
      const jwt = verifyJwt(credential)
      return jwt instanceof Promise ? jwt.then((verified) => jwtCaller(request, verified)) : jwtCaller(request, jwt)
    }

    function jwtCaller(request: FastifyRequest, jwt: VerifiedJwt | undefined): Caller | Promise<Caller> {
      if (!jwt) throw unauthorized('The bearer JWT is invalid, expired, or not signed by a trusted key')
      if (!jwt.sub.startsWith('service:')) return userCaller(request, jwt)
      const caller: Caller = { kind: 'service', name: jwt.sub.slice('service:'.length), scopes: jwt.scopes }
      request.caller = caller
      if (request.headers['private-token'] === undefined) {
        lastServiceHeader = request.headers.authorization
        lastServiceCaller = caller
        lastServiceUntil = jwt.expiresAt
      }
      return caller
    }

    async function userCaller(request: FastifyRequest, jwt: VerifiedJwt): Promise<Caller> {
      const id = Number(jwt.sub)
      const user = Number.isSafeInteger(id)
        ? await app.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
        : undefined
      if (!user) throw unauthorized('The JWT subject is not a known user or service:<name>')
      if (user.state !== 'active') throw new AppError(403, 'user_inactive', 'Your account is blocked or deactivated')
      if (user.kind === 'service_account') throw serviceAccountSession()
      const caller: Caller = { kind: 'user', user, scopes: jwt.scopes }
      request.caller = caller
      return caller
    }

    async function tokenCaller(request: FastifyRequest, credential: string): Promise<Caller> {
      const found = await lookupTokenBySecret(app.db, app.config.tokenPeppers, credential, now())
      if (!found.ok) {
        if (found.rotatedAway) {
          const { id, revokedAt, revokedBy } = found.rotatedAway
          const selfRotatedJustNow = revokedBy === `token:${id}` && now().getTime() - revokedAt.getTime() <= app.config.rotationRetryLeewayMs
          if (selfRotatedJustNow && request.routeOptions.url === SELF_ROTATE) {
            // The client rotated with this secret moments ago and retries (a lost response): the
            // same answer as a retry by any other caller, and nothing revoked (lifecycle.ts).
            throw alreadyRotated(id, revokedAt, now(), (await successorOf(app.db, found.rotatedAway))?.id)
          }
          app.reuse.report({ tokenId: id, ip: request.ip, via: 'api', requestId: request.id })
        }
        if (found.reason === 'user_inactive') throw new AppError(403, 'user_inactive', TOKEN_FAILURES[found.reason])
        throw new AppError(401, found.reason === 'malformed_token' ? 'invalid_token' : found.reason, TOKEN_FAILURES[found.reason])
      }
      const caller: Caller = { kind: 'token', user: found.user, token: found.token, tokenScopes: found.scopes, adminMode: app.config.adminMode }
      request.caller = caller
      return caller
    }

    app.decorateRequest('caller', null)

    // A callback hook, not an async one: a synchronously known caller costs no promise at all.
    app.decorate('refuseAuthFailure', (request: FastifyRequest, reply: FastifyReply, err: AppError) => refuseFailure(request, reply, err))

    app.decorate('requireScope', (scope: string): onRequestHookHandler => {
      const check = (caller: Caller) => {
        if (caller.kind === 'token') throw forbidden('This endpoint needs a JWT; personal access tokens cannot call it', 'jwt_required')
        if (!caller.scopes.has(scope)) throw forbidden(`This endpoint needs the "${scope}" scope in the caller JWT`, 'missing_scope')
      }
      const settle = (caller: Caller, done: (err?: Error) => void) => {
        try {
          check(caller)
        } catch (err) {
          return done(err as Error)
        }
        done()
      }
      return (request, reply, done) => {
        let caller: Caller | Promise<Caller>
        try {
          caller = authenticateLimited(request, reply)
        } catch (err) {
          return done(err as Error)
        }
        if (caller instanceof Promise) caller.then((c) => settle(c, done), (err: Error) => done(err))
        else settle(caller, done) // no closure per request on the synchronous path
      }
    })

    app.decorate('requireUser', (opts: { tokenPermission: string | null; allowAdminService?: boolean }): onRequestAsyncHookHandler => {
      return async (request, reply) => {
        const caller = await authenticateLimited(request, reply)
        if (caller.kind === 'service') {
          if (opts.allowAdminService && caller.scopes.has('tokens:admin')) return
          throw forbidden('This endpoint acts for a user: use a user JWT or personal access token', 'user_required')
        }
        if (caller.kind === 'token' && caller.user.kind === 'service_account' && opts.tokenPermission && GROUP_MANAGED.has(opts.tokenPermission)) {
          throw serviceAccountSelfManagement(caller.user.service_account_group_id)
        }
        if (caller.kind === 'token' && opts.tokenPermission && !tokenCallerHolds(caller as TokenCaller, opts.tokenPermission)) {
          throw new AppError(403, 'insufficient_scope', `The token needs the "${opts.tokenPermission}" permission for this request`)
        }
      }
    })
  },
  { name: 'auth', dependencies: ['core'] },
)
