// buildApp registers plugins, then every module's routes, explicitly: reading this file shows the
// whole HTTP surface. It never listens (server.ts does).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import fp from 'fastify-plugin'
import { createRedis, type RedisClient } from './cache/redis-client.js'
import type { DestinationStream } from 'pino'
import { authPlugin } from './auth/plugin.js'
import { type CacheKey, PolicyCache } from './cache/policy-cache.js'
import { RedisBreaker } from './cache/redis-breaker.js'
import type { Config } from './config.js'
import { createDb, type Db } from './db/index.js'
import { type Clock, systemClock } from './domain/dates.js'
import { approvalRoutes } from './modules/approvals/routes.js'
import { createApprovalService } from './modules/approvals/service.js'
import { auditRoutes } from './modules/audit/routes.js'
import { inventoryRoutes } from './modules/inventory/routes.js'
import { createGroupAccessService } from './modules/inventory/group-access.js'
import { createInventoryService } from './modules/inventory/service.js'
import { createLegacyReportService } from './modules/inventory/legacy-report.js'
import { MIN_ALLOWED_DECISIONS, MIN_DAYS } from './domain/recommend-evidence.js'
import { computeVerdicts, DEFAULT_WINDOW_DAYS } from './modules/tokens/recommendation.js'
import { createPolicyGate } from './modules/policies/gate.js'
import { policyRoutes } from './modules/policies/routes.js'
import { templateRoutes } from './modules/templates/routes.js'
import { createTemplateService } from './modules/templates/service.js'
import { createLifecycleService } from './modules/tokens/lifecycle.js'
import { ReuseReporter } from './modules/tokens/reuse.js'
import { createTokenService } from './modules/tokens/service.js'
import { serviceAccountRoutes } from './modules/service-accounts/routes.js'
import { createServiceAccountService } from './modules/service-accounts/service.js'
import { decisionPolicies, instanceDefaultsFrom } from './modules/policies/service.js'
import { registerErrorHandling } from './http/errors.js'
import { gitlabWire } from './http/gitlab-wire.js'
import { registerExactJsonContentType } from './http/json-content-type.js'
import { DEFAULT_BODY_LIMIT, registerJsonBodyParser } from './http/json-body.js'
import { lazyChildLoggerFactory } from './http/lazy-logger.js'
import { requestLogFields } from './http/request-log.js'
import { requestIdGenerator } from './http/request-id.js'
import { fastifyTrustProxy } from './http/trust-proxy.js'
import { settlesWithin } from './shutdown.js'
import { schemaController } from './http/schema-compilers.js'
import { Problem } from './http/schemas.js'
import { authorizeRoutes, QUIET_PATHS } from './modules/authorize/routes.js'
import { createAuthorizeService } from './modules/authorize/service.js'
import { UsageRecorder } from './modules/authorize/usage.js'
import { catalogRoutes } from './modules/catalog/routes.js'
import { consoleRoutes } from './modules/console/routes.js'
import { devSignInRoutes } from './modules/console/dev-sign-in.js'
import { directoryRoutes } from './modules/directory/routes.js'
import { namespaceRoutes } from './modules/namespaces/routes.js'
import { healthRoutes } from './modules/health/routes.js'
import { leakRoutes } from './modules/leaks/routes.js'
import { createLeakService } from './modules/leaks/service.js'
import { tokenRoutes } from './modules/tokens/routes.js'
import { webhookRoutes } from './modules/webhooks/routes.js'
import { openapiInfo } from './openapi-info.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Readonly<Config>
    db: Db
    redis: RedisClient
    clock: Clock
    policyCache: PolicyCache
    usage: UsageRecorder
    /** Call after a committed change: refreshes caches here and tells other instances. */
    invalidate: (keys: CacheKey[]) => Promise<void>
    /** Where a presented rotated-away secret is reported (off the hot path). */
    reuse: ReuseReporter
  }
}

export interface AppDeps {
  db?: Db
  redis?: RedisClient
  clock?: Clock
  /** Where logs go (tests capture them to prove no secret is ever logged). */
  logStream?: DestinationStream
  /** Benchmarks measure the Redis tier with L1 off. */
  l1Cache?: boolean
  usageFlushMs?: number
}

// Secrets must never reach a log line, whatever logs them.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["private-token"]',
  'req.headers.cookie',
  '*.token',
  '*.secret',
  'token',
]

/** How long a start waits for Redis before serving without it (see corePlugin). */
const REDIS_CONNECT_AT_START_MS = 2000

async function connectWithin(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status !== 'wait') return
  // A failure is logged by the client's 'error' listener, and ioredis goes on reconnecting.
  await settlesWithin(redis.connect(), ms)
}

const corePlugin = fp(
  async (app: FastifyInstance, opts: { config: Readonly<Config>; deps: AppDeps }) => {
    const ownsDb = !opts.deps.db
    const ownsRedis = !opts.deps.redis
    app.decorate('config', opts.config)
    const { config } = opts
    // Request paths never wait on PostgreSQL unboundedly: past these, the request gets a 503.
    const dbBounds = { statementTimeoutMs: config.databaseStatementTimeoutMs, connectTimeoutMs: config.databaseConnectTimeoutMs }
    app.decorate('db', opts.deps.db ?? createDb(config.databaseUrl, 10, (err) => app.log.warn({ err: err.message }, 'idle PostgreSQL connection lost'), dbBounds))
    app.decorate<RedisClient>(
      'redis',
      // Auto-pipelining gathers the commands of one turn into one write. Not MGET: the policy
      // cache already sends one per turn (TurnBatcher), and ioredis holds a new auto-pipeline back
      // until the previous one has been answered, so each turn's lookups waited a round trip more;
      // requests kept alive that long were promoted to the old generation (bench/README.md).
      // commandTimeout: a Redis that stops answering (stalled, partitioned) fails each command after
      // REDIS_COMMAND_TIMEOUT_MS instead of holding requests; the cache then asks PostgreSQL.
      // lazyConnect: connected once the app is ready (below).
      opts.deps.redis ??
        createRedis(config, {
          maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['mget'],
          commandTimeout: config.redisCommandTimeoutMs,
        }),
    )
    app.decorate('clock', opts.deps.clock ?? systemClock)
    app.redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'))
    // Not while the app is built: compiling every route's schemas holds the event loop for a second
    // or more on a busy machine, and the connection's ready check (INFO, under the request path's
    // command timeout) then timed out first ("redis connection error: Command timed out" on a
    // healthy start, then a reconnect). Requests come only after onReady, so they meet a connected
    // client. A Redis that is down or still loading holds the start at most REDIS_CONNECT_AT_START_MS;
    // the app then answers from PostgreSQL while ioredis keeps reconnecting, as it does after any loss.
    if (ownsRedis) app.addHook('onReady', () => connectWithin(app.redis, REDIS_CONNECT_AT_START_MS))
    const cache = new PolicyCache({
      db: app.db, redis: app.redis, prefix: config.redisKeyPrefix, log: app.log, l1: opts.deps.l1Cache ?? config.cacheL1, l1Entries: config.cacheL1Entries,
      instanceDefaults: instanceDefaultsFrom(config), breaker: new RedisBreaker(),
      // Its own connection, not the pool's: LISTEN holds a session (see pg-listener.ts), so it
      // goes around a transaction-mode pooler (DATABASE_DIRECT_URL).
      listenUrl: config.databaseDirectUrl, maxSilenceMs: config.invalidationMaxSilenceMs,
    })
    // Listening for changes starts once the app is ready, not now, for the same reason as Redis
    // above: a connection opened before that saw its own connect timeout fire first ("invalidation
    // listener lost PostgreSQL" on a healthy start). L1 is off until the listener's first heartbeat either way.
    app.addHook('onReady', () => cache.start())
    app.decorate('policyCache', cache)
    app.decorate('invalidate', async (keys: CacheKey[]) => {
      try {
        await cache.refresh(keys)
      } catch (err) {
        // Committed already: a failed refresh must not fail the request. L1 floors were raised
        // before any I/O, and other instances converge within the L1 TTL.
        app.log.warn({ err: (err as Error).message }, 'cache refresh failed')
      }
    })
    const usage = new UsageRecorder(
      app.db,
      (err) => app.log.warn({ err: err.message }, 'usage flush failed; unwritten rows kept for the next flush'),
      opts.deps.usageFlushMs,
      (row, err) => app.log.warn({ row, err: err.message }, 'usage row refused by PostgreSQL; dropped, the rest of its batch was written'),
    )
    usage.start()
    app.decorate('usage', usage)
    const reuse = new ReuseReporter({
      db: app.db, clock: app.clock, invalidate: app.invalidate, log: app.log, selfRotationGraceMs: config.rotationRetryLeewayMs,
      policies: createPolicyGate({ db: app.db, cache, clock: app.clock }),
    })
    app.decorate('reuse', reuse)
    app.addHook('onClose', async () => {
      await reuse.settled()
      await usage.stop()
      await cache.stop()
      if (ownsDb) await app.db.destroy()
      if (ownsRedis) app.redis.disconnect()
    })
  },
  { name: 'core' },
)

export async function buildApp(config: Readonly<Config>, deps: AppDeps = {}) {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { req: requestLogFields },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: DEFAULT_BODY_LIMIT,
    genReqId: requestIdGenerator(),
    logController: new LogController({ disableRequestLogging: (req: { url?: string }) => QUIET_PATHS.has(req.url ?? '') }),
    childLoggerFactory: lazyChildLoggerFactory((url) => QUIET_PATHS.has(url)),
    schemaController,
  }).withTypeProvider<TypeBoxTypeProvider>()

  registerErrorHandling(app)
  registerExactJsonContentType(app)
  registerJsonBodyParser(app)
  app.addSchema(Problem)
  await app.register(swagger, {
    openapi: openapiInfo(config),
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(corePlugin, { config, deps })
  await app.register(authPlugin)

  await app.register(healthRoutes)
  await app.register(directoryRoutes, { prefix: '/api/v4' })
  // gitlabWire: the routes GitLab also has read parameters from the query string, a form or JSON,
  // as GitLab does (http/gitlab-wire.ts). The directory and the decision routes take JSON.
  await app.register(gitlabWire(catalogRoutes), { prefix: '/api/v4' })
  await app.register(gitlabWire(tokenRoutes), { prefix: '/api/v4' })
  await app.register(gitlabWire(namespaceRoutes), { prefix: '/api/v4' })
  await app.register(gitlabWire(policyRoutes), { prefix: '/api/v4' })
  const templates = createTemplateService({ db: app.db, clock: app.clock })
  await app.register(gitlabWire(templateRoutes), { prefix: '/api/v4', service: templates })
  // The inventory revokes through the token service, after deciding reach itself.
  const tokenDeps = {
    db: app.db, config, clock: app.clock, invalidate: app.invalidate, templates,
    policies: createPolicyGate({ db: app.db, cache: app.policyCache, clock: app.clock }),
  }
  const tokens = createTokenService(tokenDeps)
  const inventory = createInventoryService({
    db: app.db, clock: app.clock,
    revokeToken: (caller, row, ctx, reason, namespaceId, comment) => tokens.revoke(caller, { row }, ctx, reason, namespaceId, comment),
  })
  await app.register(gitlabWire(inventoryRoutes), {
    prefix: '/api/v4',
    service: inventory,
    groupAccess: createGroupAccessService({ db: app.db, clock: app.clock, invalidate: app.invalidate, reachableToken: inventory.reachableToken }),
    legacyReport: createLegacyReportService({
      db: app.db, clock: app.clock, scope: inventory.reportScope,
      proposals: async (rows) => computeVerdicts(tokenDeps, rows, DEFAULT_WINDOW_DAYS),
      threshold: { minAllowed: MIN_ALLOWED_DECISIONS, minDays: MIN_DAYS, windowDays: DEFAULT_WINDOW_DAYS },
      instancePolicy: async () => app.policyCache.instancePolicy(),
      groupPolicy: async (id) => app.policyCache.groupPolicy(id),
    }),
  })
  await app.register(gitlabWire(serviceAccountRoutes), {
    prefix: '/api/v4', service: createServiceAccountService({ ...tokenDeps, tokens, lifecycle: createLifecycleService(tokenDeps) }),
  })
  await app.register(gitlabWire(approvalRoutes), { prefix: '/api/v4', service: createApprovalService({ db: app.db, clock: app.clock, invalidate: app.invalidate }) })
  await app.register(gitlabWire(auditRoutes), { prefix: '/api/v4' })
  await app.register(webhookRoutes, { prefix: '/api/v4' })
  await app.register(authorizeRoutes, {
    service: createAuthorizeService({
      db: app.db, config, clock: app.clock, cache: app.policyCache, usage: app.usage, policiesFor: decisionPolicies(app.policyCache), reuse: app.reuse,
    }),
  })

  await app.register(leakRoutes, { prefix: '/api/v4', service: createLeakService({ db: app.db, peppers: config.tokenPeppers, clock: app.clock, invalidate: app.invalidate }) })

  await app.register(consoleRoutes)
  if (config.consoleDevSignIn) await app.register(devSignInRoutes, { prefix: '/api/v4' })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
