// Failed authentications are limited per client address, across instances (Redis), and never
// block a caller whose credential is valid: only failures are counted and only failures refused.
import { once } from 'node:events'
import t from 'tap'
import { buildApp, type App } from '../../src/app.js'
import { startDedicatedRedis } from '../helpers/dedicated-redis.js'
import { build, LogCapture, REDIS_NOT_UNDER_TEST, type TestContext } from '../helpers/app.js'
import { seedDirectory, ALICE } from '../helpers/fixtures.js'
import { createToken, patHeader } from '../helpers/tokens.js'

const LIMIT = 3
const ATTACKER = '203.0.113.66'
// Tests that assert what Redis holds: the limiter's in-memory fallback is the stall test's subject.
const COUNTED_IN_REDIS = { AUTH_FAILURE_LIMIT: String(LIMIT), ...REDIS_NOT_UNDER_TEST }

// An app connects to Redis once it is ready (a bounded wait); until Redis is, failures are counted in memory.
async function redisReady(app: App) {
  await app.ready()
  if (app.redis.status !== 'ready') await once(app.redis, 'ready')
}

const failWith = (app: App, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/api/v4/personal_access_tokens', remoteAddress, headers: { 'private-token': 'fgpat-wrong', ...headers } })

// A service JWT on the hot path: /authorize answers a malformed token without any lookup.
async function authorizeAs(ctx: TestContext, app: App = ctx.app) {
  const authorization = `Bearer ${await ctx.jwt.service('backend', ['authorize'])}`
  return (remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/v4/authorize', remoteAddress, headers: { authorization, ...headers }, payload: { token: 'not-a-token', permission: 'read_code', resource: { type: 'project', id: 102 } } })
}

t.test('an address over the limit gets 429 for failures, and valid credentials from it still work', async (t) => {
  const ctx = await build(t, { env: COUNTED_IN_REDIS })
  await seedDirectory(ctx)
  const pat = await createToken(ctx, ALICE)
  await redisReady(ctx.app)
  const authorize = await authorizeAs(ctx)

  for (let i = 0; i < LIMIT; i++) t.equal((await failWith(ctx.app, ATTACKER)).statusCode, 401)
  const limited = await failWith(ctx.app, ATTACKER)
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(limited.json().code, 'too_many_failed_authentications')
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s, within the one-minute window`)
  t.equal((await failWith(ctx.app, ATTACKER, { 'private-token': '' , authorization: 'Bearer nope.nope.nope' })).statusCode, 429, 'a bad JWT is a failure too')

  const badJwtOnHotPath = await authorize(ATTACKER, { authorization: 'Bearer not.a.jwt' })
  t.equal(badJwtOnHotPath.statusCode, 429, 'a failure on /authorize (the synchronous hook) is limited too')
  t.ok(Number(badJwtOnHotPath.headers['retry-after']) >= 1)
  t.equal((await authorize(ATTACKER)).statusCode, 200, 'a valid service JWT from the same address')
  const user = await ctx.app.inject({ url: '/api/v4/personal_access_tokens', remoteAddress: ATTACKER, headers: { authorization: `Bearer ${await ctx.jwt.user(ALICE)}` } })
  t.equal(user.statusCode, 200, 'a valid user JWT from the same address')
  const self = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', remoteAddress: ATTACKER, headers: patHeader(pat.token!) })
  t.equal(self.statusCode, 200, 'a valid personal access token from the same address')
  t.equal((await failWith(ctx.app, ATTACKER)).statusCode, 429, 'and a failure after them is still limited')
  t.equal((await failWith(ctx.app, '203.0.113.67')).statusCode, 401, 'another address is not affected')

  const keys = await ctx.app.redis.keys(`${ctx.config.redisKeyPrefix}authfail:*`)
  t.same(keys.sort(), [ATTACKER, '203.0.113.67'].map((a) => `${ctx.config.redisKeyPrefix}authfail:${a}`), 'counted in Redis, under the app key prefix')
})

t.test('IPv6 clients are counted per /64: another address in the same network is limited too', async (t) => {
  const ctx = await build(t, { env: COUNTED_IN_REDIS })
  await redisReady(ctx.app)
  for (let i = 1; i <= LIMIT; i++) t.equal((await failWith(ctx.app, `2001:db8:1:2::${i}`)).statusCode, 401)
  t.equal((await failWith(ctx.app, '2001:db8:1:2:ffff:1:2:3')).statusCode, 429, 'same /64')
  t.equal((await failWith(ctx.app, '2001:db8:1:3::1')).statusCode, 401, 'another /64')
})

t.test('the count is shared by every instance on the same Redis', async (t) => {
  const ctx = await build(t, { env: COUNTED_IN_REDIS })
  const other = await buildApp(ctx.config, { logStream: new LogCapture() })
  t.teardown(() => other.close())
  await Promise.all([redisReady(ctx.app), redisReady(other)])
  t.equal((await failWith(ctx.app, ATTACKER)).statusCode, 401)
  t.equal((await failWith(other, ATTACKER)).statusCode, 401)
  t.equal((await failWith(ctx.app, ATTACKER)).statusCode, 401)
  t.equal((await failWith(other, ATTACKER)).statusCode, 429, 'the fourth failure, on the other instance')
  t.equal((await (await authorizeAs(ctx, other))(ATTACKER)).statusCode, 200, 'a valid caller on either instance')
})

t.test('AUTH_FAILURE_LIMIT=0 turns the limit off', async (t) => {
  const ctx = await build(t, { env: { AUTH_FAILURE_LIMIT: '0' } })
  await redisReady(ctx.app)
  for (let i = 0; i < 10; i++) t.equal((await failWith(ctx.app, ATTACKER)).statusCode, 401)
  t.same(await ctx.app.redis.keys(`${ctx.config.redisKeyPrefix}authfail:*`), [])
})

t.test('Redis stalled or killed: failures are counted per process, answered in bounded time, valid callers unaffected', async (t) => {
  const redis = await startDedicatedRedis(t)
  // 300 ms rather than the default 100, so the first stalled failure shows which bound it waited for
  const ctx = await build(t, { env: { AUTH_FAILURE_LIMIT: String(LIMIT), REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } })
  const authorize = await authorizeAs(ctx)
  await redisReady(ctx.app)
  t.equal((await authorize('192.0.2.1')).statusCode, 200, 'warm: the service JWT is remembered')
  t.equal((await failWith(ctx.app, '192.0.2.1')).statusCode, 401)
  t.same(await ctx.app.redis.keys('*authfail*'), [`${ctx.config.redisKeyPrefix}authfail:192.0.2.1`], 'counted in Redis while it answers')

  const timed = async <T>(fn: () => Promise<T>) => {
    const started = performance.now()
    const value = await fn()
    return { value, ms: performance.now() - started }
  }
  const failuresUntilLimited = async (address: string) => {
    const statuses: number[] = []
    const times: number[] = []
    for (let i = 0; i <= LIMIT; i++) {
      const { value, ms } = await timed(() => failWith(ctx.app, address))
      statuses.push(value.statusCode)
      times.push(ms)
    }
    return { statuses, first: times[0], slowest: Math.max(...times) }
  }
  const expected = [...Array<number>(LIMIT).fill(401), 429]

  const countWarnings = () => ctx.logs.text.split('failed-authentication count: Redis failed').length - 1
  redis.stall()
  const stalled = await failuresUntilLimited('192.0.2.10')
  // the client's commandTimeout and the limiter's own bound are the same: one stall, one warning
  await new Promise((resolve) => setTimeout(resolve, 100)) // the losing side of the race settles too
  t.equal(countWarnings(), 1, 'stalled: the stall is reported once')
  t.same(stalled.statuses, expected, 'stalled: limited in this process, no 500')
  t.ok(stalled.slowest < 1000, `stalled: the slowest failure answered in ${Math.round(stalled.slowest)} ms`)
  // a timer never fires early, so this lower bound is not a timing race
  t.ok(stalled.first >= 295, `stalled: the first failure waited REDIS_COMMAND_TIMEOUT_MS for Redis (${Math.round(stalled.first)} ms)`)
  const valid = await timed(() => authorize('192.0.2.10'))
  t.equal(valid.value.statusCode, 200, 'stalled: a valid caller from the limited address')
  // waiting on the stalled Redis would take the 300 ms bound; 250 leaves a loaded machine room
  t.ok(valid.ms < 250, `stalled: and it did not wait on Redis (${Math.round(valid.ms)} ms)`)

  await redis.kill()
  const killed = await failuresUntilLimited('192.0.2.20')
  t.same(killed.statuses, expected, 'killed: limited in this process, no 500')
  t.ok(killed.slowest < 1000, `killed: the slowest failure answered in ${Math.round(killed.slowest)} ms`)
  t.equal((await authorize('192.0.2.20')).statusCode, 200, 'killed: a valid caller from the limited address')
  t.notMatch(ctx.logs.text, /"level":50/, 'nothing logged as an error')
})
