// WEB_CONCURRENCY: the compiled API entry runs that many processes on one port, each deciding
// from its own caches (like separate instances); SIGTERM to the primary stops them all.
import t, { type Test as Tap } from 'tap'
import { signDevJwt } from '../../../src/auth/dev-jwt.js'
import { freePort } from '../../../src/embedded/ports.js'
import { createTestDatabase, databaseUrl, TEST_JWT_SECRET, TEST_PEPPER } from '../../helpers/app.js'
import { answers, childrenOf, runEntry, signal, waitUntil } from '../../helpers/processes.js'

/** The compiled API entry with WEB_CONCURRENCY=2, in its own process group as a shell runs it; healthy. */
async function startClustered(t: Tap) {
  const db = await createTestDatabase(t)
  const port = await freePort()
  const app = runEntry(t, 'server.js', {
    NODE_ENV: 'test', PORT: String(port), DATABASE_URL: databaseUrl(db), REDIS_URL: process.env.FGPAT_TEST_REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${db}:`, TOKEN_PEPPERS: TEST_PEPPER, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', WEB_CONCURRENCY: '2',
  })
  // Both processes listening (each logs it), not only the first one up: the one still starting would
  // have no signal handling yet, and /healthz is answered by either.
  const listening = () => (app.output().match(/Server listening at/g) ?? []).length === 2
  await waitUntil('the clustered API', async () => listening() && (await answers(`http://127.0.0.1:${port}/healthz`)), 60_000, app.output, 200)
  t.equal(childrenOf(app.pid).length, 2, 'two API processes under the primary')
  return { app, port }
}

t.test('WEB_CONCURRENCY=2 serves from two processes and stops them all on SIGTERM', async (t) => {
  const { app, port } = await startClustered(t)

  // Every process answers /authorize (many connections spread over both).
  const jwt = await signDevJwt({ secret: TEST_JWT_SECRET, sub: 'service:test', scopes: ['authorize'], expiresIn: '5m' })
  const answers = await Promise.all(Array.from({ length: 40 }, () =>
    fetch(`http://127.0.0.1:${port}/api/v4/authorize`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ token: 'fgpat-nope', permission: 'read_code', resource: { type: 'project', id: 1 } }),
    }).then((r) => r.json() as Promise<{ reason: string }>)))
  t.same(new Set(answers.map((a) => a.reason)), new Set(['malformed_token']))

  signal(app.pid, 'SIGTERM')
  t.equal((await app.exited).code, 0, 'the primary exits cleanly after its processes')
})

// A terminal's Ctrl-C reaches the primary and its API processes at once; the primary then passes
// the same signal on (a SIGTERM would be a second signal to a process still closing: a forced exit,
// no last flush). Here the processes usually close before the primary's signal reaches them, so
// this guards the graceful path; it does not by itself catch a SIGTERM passed on.
t.test('WEB_CONCURRENCY=2: a Ctrl-C closes every API process gracefully', async (t) => {
  const { app } = await startClustered(t)
  signal(-app.pid, 'SIGINT')
  t.equal((await app.exited).code, 0, 'the primary exits cleanly after its processes')
  t.notMatch(app.output(), /exited \(.*\) while stopping|exiting now/, 'every API process closed gracefully (exit 0), none forced its exit')
})
