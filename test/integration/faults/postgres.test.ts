// PostgreSQL stalled (SIGSTOP of the postmaster and every backend: connections stay open, nothing
// answers), with two API instances: requests that need it get a 503 within their bound instead of
// hanging, decisions the caches can still answer correctly are answered (nothing can change while
// PostgreSQL is stopped: every change commits there first), nothing is half-written, and everything
// recovers without a restart.
import t from 'tap'
import { generateToken } from '../../../src/domain/token-format.js'
import { ADMIN } from '../../helpers/fixtures.js'
import { startPostgresProcess } from '../../helpers/fault-servers.js'
import { type Answer, askUntil, decide, jwt, questions, seedScenario, sleep, twoInstances, untilReady } from './instances.js'

const STATEMENT_MS = 1500
const CONNECT_MS = 1000
const DECISION_BOUND_MS = 1500 // DECISION_TIMEOUT_MS (1000) and scheduling slack
const WRITE_BOUND_MS = STATEMENT_MS + 500 + 1000 // the client's deadline after the server's, and slack

t.test('PostgreSQL stalled: 503 within the bound, no hang, nothing half-written, recovery without restart', async (t) => {
  const postgres = await startPostgresProcess(t)
  const { a, b } = await twoInstances(t, {
    DATABASE_URL: postgres.databaseUrl, DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS), DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
  }, `faultpg_${process.pid}`)
  const s = await seedScenario(a)
  const legacy = (await a.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: { authorization: `Bearer ${await jwt.user(2)}` },
    payload: { name: 'legacy to convert', scopes: ['read_api'], expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) },
  })).json() as { id: number }
  const asked = questions(s)
  for (const [name, q] of Object.entries(asked)) t.equal((await decide(b, q)).allowed, true, `${name}: allowed on B before`)

  const answers: Answer[] = []
  let stop = false
  const loop = askUntil(b, asked, () => stop, answers)
  await sleep(200)
  postgres.pause()
  await sleep(100)

  const revokeStarted = Date.now()
  const revoke = await a.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${s.revoked.id}`, headers: { authorization: `Bearer ${await jwt.user(2)}` } })
  const revokeMs = Date.now() - revokeStarted
  t.equal(revoke.statusCode, 503, `a change while PostgreSQL is stalled answers 503 (${revoke.json().code})`)
  t.ok(revokeMs < WRITE_BOUND_MS, `within its bound (${revokeMs} ms)`)
  t.equal(revoke.headers['retry-after'], '1', 'and says when to retry')

  // The least-privilege routes (issue 15) read PostgreSQL as well: the same bound, the same 503.
  const leastPrivilege: [string, 'GET' | 'POST', string][] = [
    ['recommendation', 'GET', `/api/v4/personal_access_tokens/${s.edited.id}/recommendation`],
    ['apply', 'POST', `/api/v4/personal_access_tokens/${s.edited.id}/recommendation/apply`],
    ['convert', 'POST', `/api/v4/personal_access_tokens/${legacy.id}/convert`],
    ['legacy report', 'GET', '/api/v4/admin/personal_access_tokens/legacy_report'],
  ]
  for (const [name, method, url] of leastPrivilege) {
    const started = Date.now()
    const res = await a.inject({ method, url, headers: { authorization: `Bearer ${await jwt.user(name === 'legacy report' ? ADMIN : 2)}` }, ...(method === 'POST' ? { payload: {} } : {}) })
    t.equal(res.statusCode, 503, `${name} while PostgreSQL is stalled answers 503 (${res.json().code})`)
    t.ok(Date.now() - started < WRITE_BOUND_MS, `${name}: within its bound (${Date.now() - started} ms)`)
  }

  const unknownStarted = Date.now()
  const unknown = await decide(b, { token: generateToken('fgpat-'), permission: 'read_code' })
  t.equal(unknown.status, 503, 'a decision that needs PostgreSQL (an unknown token) is a 503, not a guess')
  t.ok(Date.now() - unknownStarted < DECISION_BOUND_MS, `within the decision bound (${Date.now() - unknownStarted} ms)`)

  const readyStarted = Date.now()
  const readyz = await b.inject({ method: 'GET', url: '/readyz' })
  t.ok(Date.now() - readyStarted < 1000, `/readyz answered in ${Date.now() - readyStarted} ms`)
  t.equal(readyz.statusCode, 503)
  t.match(readyz.json().checks.postgres, /no answer within/, 'it names PostgreSQL as the one not answering')
  t.equal(readyz.json().checks.redis, 'ok')

  await sleep(1500)
  stop = true
  await loop
  t.ok(answers.length > 0 && answers.every((x) => x.status === 200 || x.status === 503), `B answered decisions or 503s only (${answers.length})`)
  t.ok(answers.every((x) => x.allowed !== false), 'and never a wrong denial: nothing changed')
  const slowest = answers.reduce((max, x) => Math.max(max, x.ms), 0)
  t.ok(slowest < DECISION_BOUND_MS, `no decision took longer than the bound (slowest ${slowest} ms)`)
  t.comment(`during the stall B answered ${answers.filter((x) => x.status === 200).length} decisions from its caches and ${answers.filter((x) => x.status === 503).length} × 503`)

  postgres.resume()
  // Both: each instance finds PostgreSQL again on its own (pool, listener reconnect).
  await untilReady([a, b], 15_000)
  t.equal((await a.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'A is ready again')
  t.equal((await b.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'B is ready again')
  const shown = await a.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${s.revoked.id}`, headers: { authorization: `Bearer ${await jwt.user(2)}` } })
  t.equal(shown.json().active, true, 'the change that answered 503 did not happen (nothing half-written)')
  const retry = await a.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${s.revoked.id}`, headers: { authorization: `Bearer ${await jwt.user(2)}` } })
  t.equal(retry.statusCode, 204, 'retried after recovery, it works')
  const revokedAt = Date.now()
  let reason: string | undefined
  while (Date.now() - revokedAt < 1000 && (reason = (await decide(b, asked.revoked)).reason) !== 'token_revoked') await sleep(5)
  t.equal(reason, 'token_revoked', `and B denies the token (${Date.now() - revokedAt} ms)`)
  t.equal((await decide(b, { token: generateToken('fgpat-'), permission: 'read_code' })).reason, 'token_not_found', 'cache misses are answered from PostgreSQL again')
})
