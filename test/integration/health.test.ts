import t from 'tap'
import { buildApp } from '../../src/app.js'
import { build, createTestDatabase, LogCapture, testConfig, untilTrusted } from '../helpers/app.js'

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

// A start on a busy machine: compiling the routes' schemas can hold the event loop past the
// listener's 1 s connect bound. Its connection is opened once the app is ready, so a healthy start
// does not log "invalidation listener lost PostgreSQL" (it did in 2 of 3 starts of `npm start` with
// three busy processes beside it).
t.test('a start that holds the event loop for over a second logs no listener warning', async (t) => {
  const dbName = await createTestDatabase(t)
  const logs = new LogCapture()
  const app = await buildApp(testConfig(dbName), { logStream: logs })
  t.teardown(() => app.close())
  for (const until = Date.now() + 1500; Date.now() < until;); // as a slow schema compilation would
  await app.ready()
  await untilTrusted(app)
  const warnings = logs.text.split('\n').filter((line) => line.includes('"level":40'))
  t.same(warnings, [], 'no warning')
})
