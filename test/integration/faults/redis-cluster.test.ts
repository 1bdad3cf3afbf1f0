// The service on a Redis Cluster of its own (3 masters from redis-server, REDIS_CLUSTER_NODES) and
// behind a Sentinel: decisions, a revoke heard by other instances, a mail job through BullMQ, and a
// master SIGKILLed under load (every answer a decision or a 503, no stale allow, recovery without
// restarting the service when the master is back).
import { Cluster, Redis } from 'ioredis'
import t from 'tap'
import { buildApp } from '../../../src/app.js'
import { inDays } from '../../helpers/fixtures.js'
import { createTestDatabase, LogCapture, testConfig } from '../../helpers/app.js'
import { reportLingering } from '../../helpers/lingering.js'
import { startRedisCluster, startRedisSentinel } from '../../helpers/redis-cluster.js'
import { createToken } from '../../helpers/tokens.js'
import { setUpJobs } from '../jobs/setup.js'
import { type Answer, askUntil, changes, decide, jwt, questions, seedScenario, sleep, twoInstances } from './instances.js'

const RULE_MS = 1000 // once a change has answered, no instance allows the old state later than this
// Each subtest alone takes 3–15 s: a hang fails the subtest it is in, by name, with the last phase
// it commented, instead of the whole file at tap's timeout with no clue (seen once in a full run).
const SUBTEST_TIMEOUT_MS = 60_000

reportLingering(t)

const onCluster = (nodes: string, extra: Record<string, string> = {}) => ({ REDIS_URL: '', REDIS_CLUSTER_NODES: nodes, ...extra })

/** A client of the test's own on the cluster (to look at what the service wrote). */
function clusterClient(t: { teardown: (fn: () => unknown) => void }, ports: number[]): Cluster {
  const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { clusterRetryStrategy: () => 100 })
  c.on('error', () => undefined)
  t.teardown(() => c.disconnect())
  return c
}

t.test('on a 3-master cluster: decisions, entries on every master, a revoke denied at once here and on other instances', { timeout: SUBTEST_TIMEOUT_MS }, async (t) => {
  const cluster = await startRedisCluster(t)
  const dbName = await createTestDatabase(t)
  const { a, b, config } = await twoInstances(t, onCluster(cluster.nodes, { AUTH_FAILURE_LIMIT: '3' }), dbName)
  // A third instance without L1: every decision reads the cluster (one GET per key, per master).
  const c = await buildApp(testConfig(dbName, onCluster(cluster.nodes, { CACHE_L1: 'false' })), { logStream: new LogCapture() })
  t.teardown(() => c.close())
  await c.ready()
  const s = await seedScenario(a)
  const asked = questions(s)
  for (const app of [a, b, c]) {
    t.equal((await decide(app, asked.revoked)).allowed, true, 'read_code: allowed')
    const denied = await decide(app, { token: s.revoked.token, permission: 'push_code' })
    t.same([denied.allowed, denied.reason], [false, 'permission_not_granted'], 'push_code, not granted: denied with its reason')
  }
  t.equal((await decide(c, asked.revoked)).allowed, true, 'asked again without L1: answered from the cluster')

  const spread = await Promise.all(cluster.ports.map(async (port) => {
    const node = new Redis({ port, host: '127.0.0.1' })
    try {
      return await node.dbsize()
    } finally {
      node.disconnect()
    }
  }))
  t.ok(spread.filter((n) => n > 0).length >= 2, `the policy table is spread over the masters (keys per master: ${spread.join(', ')})`)
  const inRedis = await clusterClient(t, cluster.ports).get(`${config.redisKeyPrefix}pol:instance`)
  t.match(inRedis, /^\d+\|/, 'entries are written through as "<version>|<json>"')

  // The failure limiter counts in the cluster, across instances: 3 failures allowed per address.
  const fail = (app: typeof a) => app.inject({ method: 'GET', url: '/api/v4/personal_access_tokens', remoteAddress: '203.0.113.9', headers: { 'private-token': 'fgpat-wrong' } })
  t.same([(await fail(a)).statusCode, (await fail(b)).statusCode, (await fail(a)).statusCode, (await fail(b)).statusCode], [401, 401, 401, 429], 'failed authentications are counted across instances in the cluster')

  await changes(a, s).revoked()
  const revokedAt = Date.now()
  t.equal((await decide(a, asked.revoked)).reason, 'token_revoked', 'the instance that revoked denies at once')
  for (const [name, app] of [['B', b], ['C (no L1)', c]] as const) {
    let answer = await decide(app, asked.revoked)
    while (answer.allowed !== false && Date.now() - revokedAt < RULE_MS) answer = await decide(app, asked.revoked)
    t.equal(answer.reason, 'token_revoked', `${name} denies ${Date.now() - revokedAt} ms after the revoke answered`)
  }
})

t.test('a BullMQ job (the creation mail) runs on the cluster', { timeout: SUBTEST_TIMEOUT_MS }, async (t) => {
  const cluster = await startRedisCluster(t)
  const { ctx, smtp, worker } = await setUpJobs(t, { env: onCluster(cluster.nodes) })
  const created = await createToken(ctx, 2, { name: 'on-cluster', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] })
  t.ok(created.id > 0)
  await worker.dispatchNow()
  const [mail] = await smtp.waitFor(1)
  t.match(mail.text, /on-cluster/, 'the mail about the new token was sent by the worker through the cluster')
  // KEYS asks one node: the one serving the {bull} tag's slot.
  const bullNode = new Redis({ port: await cluster.masterOf('{bull}'), host: '127.0.0.1' })
  t.teardown(() => bullNode.disconnect())
  const keys = await bullNode.keys(`${ctx.config.redisKeyPrefix}{bull}:mail:*`)
  t.ok(keys.length > 0, `the queue's keys are under the prefix and the {bull} hash tag (${keys.length} keys)`)
})

t.test('a master SIGKILLed under load: decisions or 503, no stale allow, recovery when it is back', { timeout: SUBTEST_TIMEOUT_MS }, async (t) => {
  const cluster = await startRedisCluster(t)
  // B without L1: every decision asks Redis, so the dead master is on every request's path.
  const dbName = await createTestDatabase(t)
  const { a, config } = await twoInstances(t, onCluster(cluster.nodes), dbName)
  const b = await buildApp(testConfig(dbName, onCluster(cluster.nodes, { CACHE_L1: 'false' })), { logStream: new LogCapture() })
  t.teardown(() => b.close())
  await b.ready()
  const s = await seedScenario(a)
  const asked = questions(s)
  for (const [name, q] of Object.entries(asked)) t.equal((await decide(b, q)).allowed, true, `${name}: allowed before`)
  // The master of the instance policy: every decision reads that key.
  const victim = cluster.ports.indexOf(await cluster.masterOf(`${config.redisKeyPrefix}pol:instance`))

  const answers: Answer[] = []
  let stop = false
  const loops = [askUntil(b, asked, () => stop, answers), askUntil(b, asked, () => stop, answers)]
  await sleep(200)
  await cluster.kill(victim)
  await sleep(300)
  const doneAt: Record<string, number> = {}
  for (const [name, change] of Object.entries(changes(a, s))) {
    await change()
    doneAt[name] = Date.now()
  }
  // Past the cluster's node timeout (1 s): the other masters answer CLUSTERDOWN too.
  await sleep(2500)
  t.comment(`master ${cluster.ports[victim]} dead while B answered ${answers.length} times`)
  await cluster.restart(victim)
  t.comment('the master is back')
  await sleep(1500)
  stop = true
  await Promise.all(loops)
  t.comment('the load stopped')

  for (const name of Object.keys(asked)) {
    const late = answers.filter((x) => x.name === name && x.allowed === true && x.started > doneAt[name] + RULE_MS)
    t.equal(late.length, 0, `${name}: no allow on B later than ${RULE_MS} ms after the change answered on A`)
  }
  const statuses = new Map<number, number>()
  for (const x of answers) statuses.set(x.status, (statuses.get(x.status) ?? 0) + 1)
  t.ok(answers.every((x) => x.status === 200 || x.status === 503), `every answer is a decision or a 503 (${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')})`)

  // Recovered, nothing restarted but the master: Redis serves again (the entry comes back into the
  // restarted, empty master), and a revoke on A still reaches B.
  const fresh = await s.create(2, ['read_code'])
  const check = clusterClient(t, cluster.ports)
  const until = Date.now() + 10_000
  let entry: string | null = null
  while (Date.now() < until) {
    t.equal((await decide(b, { token: fresh.token, permission: 'read_code' })).allowed, true)
    // Bounded: the test's own cluster client queues a command while it has no connection.
    if ((entry = await Promise.race([check.get(`${config.redisKeyPrefix}pol:instance`).catch(() => null), sleep(1000).then(() => null)]))) break
    await sleep(100)
  }
  t.match(entry, /^\d+\|/, 'the restarted master holds the instance policy again (written through by the service)')
  t.equal((await b.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'B is ready')
  await a.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${fresh.id}`, headers: { authorization: `Bearer ${await jwt.user(2)}` } })
  const revokedAt = Date.now()
  let reason: string | undefined
  while (Date.now() - revokedAt < RULE_MS && (reason = (await decide(b, { token: fresh.token, permission: 'read_code' })).reason) !== 'token_revoked') await sleep(5)
  t.equal(reason, 'token_revoked', `a revoke on A reaches B (${Date.now() - revokedAt} ms)`)
})

t.test('behind a Sentinel (one primary, one Sentinel): decisions and a revoke', { timeout: SUBTEST_TIMEOUT_MS }, async (t) => {
  const sentinel = await startRedisSentinel(t)
  t.comment('primary and Sentinel started')
  const env = { REDIS_URL: '', REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name }
  const { a, b, config } = await twoInstances(t, env, await createTestDatabase(t))
  t.comment('two instances trust their invalidations')
  const s = await seedScenario(a)
  t.equal((await decide(b, questions(s).revoked)).allowed, true, 'allowed')
  const primary = new Redis({ port: sentinel.primaryPort, host: '127.0.0.1' })
  t.teardown(() => primary.disconnect())
  t.match(await primary.get(`${config.redisKeyPrefix}pol:instance`), /^\d+\|/, 'the cache is on the primary the Sentinel names')
  await changes(a, s).revoked()
  const revokedAt = Date.now()
  let reason: string | undefined
  while (Date.now() - revokedAt < RULE_MS && (reason = (await decide(b, questions(s).revoked)).reason) !== 'token_revoked') await sleep(5)
  t.equal(reason, 'token_revoked', `a revoke on A reaches B (${Date.now() - revokedAt} ms)`)
})
