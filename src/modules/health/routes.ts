import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { registry } from '../../metrics/registry.js'

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
        security: [],
        response: { 200: Status, 503: Status },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {}
      await Promise.all([
        sql`select 1`.execute(app.db).then(() => (checks.postgres = 'ok'), (e: Error) => (checks.postgres = e.message)),
        app.redis.ping().then(() => (checks.redis = 'ok'), (e: Error) => (checks.redis = e.message)),
      ])
      const ok = checks.postgres === 'ok' && checks.redis === 'ok'
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks })
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
