// Redis stalled (SIGSTOP: connections stay open, nothing answers) or killed, with two API instances:
// a change made on A returns without waiting for Redis, and B stops allowing the old state within
// a second (it hears the change through PostgreSQL); every answer is a decision or a 503 within the
// bound; nothing hangs; both instances recover without a restart.
import t from 'tap'
import { generateToken } from '../../../src/domain/token-format.js'
import { createTestDatabase } from '../../helpers/app.js'
import { startRedisProcess } from '../../helpers/fault-servers.js'
import { type Answer, askUntil, changes, decide, jwt, questions, seedScenario, sleep, twoInstances, untilReady } from './instances.js'

const RULE_MS = 1000 // once a change has answered, no instance allows the old state later than this
const BOUND_MS = 1500 // DECISION_TIMEOUT_MS (1000) and scheduling slack: no request takes longer
// How long Redis stays stalled or dead while B is asked (seconds): a few in `npm test`; the issue's
// 75 s case is `FAULT_HOLD_S=75 npm test -- test/integration/faults/redis.test.ts`.
const HOLD_MS = Number(process.env.FAULT_HOLD_S ?? 0) * 1000
if (HOLD_MS > 0) t.setTimeout(HOLD_MS + 180_000)

for (const fault of ['stalled', 'killed'] as const) {
  t.test(`Redis ${fault}: changes return at once, the other instance denies within ${RULE_MS} ms, no hang, recovery`, async (t) => {
    const redis = await startRedisProcess(t)
    const { a, b } = await twoInstances(t, { REDIS_URL: redis.url }, await createTestDatabase(t))
    const s = await seedScenario(a)
    const asked = questions(s)
    for (const [name, q] of Object.entries(asked)) t.equal((await decide(b, q)).allowed, true, `${name}: allowed on B before (warm in L1)`)

    const answers: Answer[] = []
    let stop = false
    const loops = [askUntil(b, asked, () => stop, answers), askUntil(b, asked, () => stop, answers)]
    await sleep(200)
    if (fault === 'stalled') redis.pause()
    else await redis.kill()
    const faultAt = Date.now()
    await sleep(300) // Redis is gone for real before the changes

    const doneAt: Record<string, number> = {}
    for (const [name, change] of Object.entries(changes(a, s))) {
      const started = Date.now()
      await change()
      doneAt[name] = Date.now()
      t.ok(doneAt[name] - started < BOUND_MS, `${name}: the change answered in ${doneAt[name] - started} ms, without waiting for Redis`)
    }
    // Meanwhile: a token nobody asked about before, and an unknown one, answer within the bound too.
    const fresh = await s.create(2, ['read_code'])
    const cold = Date.now()
    t.equal((await decide(b, { token: fresh.token, permission: 'read_code' })).allowed, true, 'a token B never saw: decided from PostgreSQL')
    const unknown = await decide(b, { token: generateToken('fgpat-'), permission: 'read_code' })
    t.ok(Date.now() - cold < 2 * BOUND_MS, 'without waiting for Redis')
    t.equal(unknown.reason, 'token_not_found', 'a well-formed unknown token is looked up and answered')
    const ready = Date.now()
    const readyz = await b.inject({ method: 'GET', url: '/readyz' })
    t.ok(Date.now() - ready < 1000, `/readyz answered in ${Date.now() - ready} ms`)
    t.equal(readyz.statusCode, 503)
    t.not(readyz.json().checks.redis, 'ok', `it names Redis: ${readyz.json().checks.redis}`)
    t.equal(readyz.json().checks.postgres, 'ok')

    await sleep(Math.max(RULE_MS + 500, HOLD_MS - (Date.now() - faultAt)))
    t.comment(`Redis ${fault} for ${Date.now() - faultAt} ms while B was asked ${answers.length} times`)
    stop = true
    await Promise.all(loops)

    for (const name of Object.keys(asked)) {
      const late = answers.filter((x) => x.name === name && x.allowed === true && x.started > doneAt[name] + RULE_MS)
      t.equal(late.length, 0, `${name}: no allow on B later than ${RULE_MS} ms after the change answered on A`)
      const after = answers.filter((x) => x.name === name && x.started > doneAt[name] + RULE_MS)
      t.ok(after.length > 0 && after.every((x) => x.status === 200 && x.allowed === false), `${name}: B denies (${[...new Set(after.map((x) => x.reason ?? x.status))].join(', ')})`)
      const firstDeny = answers.find((x) => x.name === name && x.allowed === false && x.started >= doneAt[name])
      t.comment(`${name}: first denial on B ${firstDeny ? firstDeny.started + firstDeny.ms - doneAt[name] : '?'} ms after the change answered`)
    }
    t.ok(answers.every((x) => x.status === 200 || x.status === 503), 'every answer is a decision or a 503')
    const slowest = answers.reduce((max, x) => Math.max(max, x.ms), 0) // not a spread: a 75 s hold gives ~500,000 answers
    t.ok(slowest < BOUND_MS, `no request took longer than the bound (slowest ${slowest} ms of ${answers.length})`)

    // Recovery, without restarting anything.
    if (fault === 'stalled') redis.resume()
    else await redis.restart()
    // Both: each instance notices Redis is back on its own reconnect timer.
    await untilReady([a, b], 10_000)
    t.equal((await a.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'A is ready again')
    t.equal((await b.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'B is ready again')
    const after = await s.create(2, ['read_code'])
    t.equal((await decide(b, { token: after.token, permission: 'read_code' })).allowed, true, 'a new token works on B')
    await a.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${after.id}`, headers: { authorization: `Bearer ${await jwt.user(2)}` } })
    const revokedAt = Date.now()
    let reason: string | undefined
    while (Date.now() - revokedAt < RULE_MS && (reason = (await decide(b, { token: after.token, permission: 'read_code' })).reason) !== 'token_revoked') await sleep(5)
    t.equal(reason, 'token_revoked', `and a revoke on A reaches B (${Date.now() - revokedAt} ms)`)
  })
}
