import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { withDeadline } from '../../http/deadline.js'
import { registry } from '../../metrics/registry.js'

// /readyz answers within a second whatever the dependencies do: each check gets this long.
const CHECK_TIMEOUT_MS = 800

/** 'ok', or what is wrong: an error message, or that no answer came in time. */
function check(work: Promise<unknown>): Promise<string> {
  return withDeadline(work, CHECK_TIMEOUT_MS, `no answer within ${CHECK_TIMEOUT_MS} ms`).then(
    () => 'ok',
    (e: Error) => e.message || 'failed',
  )
}

const Status = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Optional(Type.Record(Type.String(), Type.String())),
})

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], operationId: 'healthz', summary: 'Liveness: the process answers', security: [], response: { 200: Status } } },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'readyz',
        summary: 'Readiness: PostgreSQL and Redis answer',
        description: `Answers within a second: each dependency gets ${CHECK_TIMEOUT_MS} ms, and \`checks\` says which one is down or slow.`,
        security: [],
        response: { 200: Status, 503: Status },
      },
    },
    async (_request, reply) => {
      const [postgres, redis] = await Promise.all([
        check(sql`select 1`.execute(app.db)),
        check(app.redis.ping()),
      ])
      // Not a readiness condition (decisions stay correct, only slower), but worth seeing here.
      const invalidations = app.policyCache.invalidations.trusted
        ? 'ok'
        : 'not confirmed by PostgreSQL lately: the in-process cache is bypassed'
      const ok = postgres === 'ok' && redis === 'ok'
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis, invalidations } })
    },
  )

  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'], operationId: 'metrics', summary: 'Prometheus metrics', security: [],
        description: 'Decisions by reason, decision latency, cache lookups by tier, invalidations received, and process metrics.',
        response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  )
}
