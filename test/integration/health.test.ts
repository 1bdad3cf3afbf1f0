import t from 'tap'
import { buildApp } from '../../src/app.js'
import { build, createTestDatabase, LogCapture, testConfig } from '../helpers/app.js'

t.test('/healthz answers while the process runs', async (t) => {
  const ctx = await build(t)
  const res = await ctx.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('/readyz is 200 when PostgreSQL and Redis answer', async (t) => {
  const ctx = await build(t)
  // The app's Redis connects in the background; readiness is about a connected instance.
  if (ctx.app.redis.status !== 'ready') await new Promise((resolve) => ctx.app.redis.once('ready', resolve))
  const res = await ctx.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', checks: { postgres: 'ok', redis: 'ok', invalidations: 'ok' } })
})

t.test('/readyz is 503 when Redis is unreachable', async (t) => {
  const dbName = await createTestDatabase(t)
  const logs = new LogCapture()
  const app = await buildApp(testConfig(dbName, { REDIS_URL: 'redis://127.0.0.1:1' }), { logStream: logs })
  t.teardown(() => app.close())
  await app.ready()
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  const body = res.json() as { status: string; checks: Record<string, string> }
  t.equal(body.status, 'unavailable')
  t.equal(body.checks.postgres, 'ok', 'PostgreSQL is still reported healthy')
  t.not(body.checks.redis, 'ok', `Redis is reported down (${body.checks.redis})`)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness does not depend on Redis')
})
