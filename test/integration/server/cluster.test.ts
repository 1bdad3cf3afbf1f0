// WEB_CONCURRENCY: the compiled API entry runs that many processes on one port, each deciding
// from its own caches (like separate instances); SIGTERM to the primary stops them all.
import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { signDevJwt } from '../../../src/auth/dev-jwt.js'
import { freePort } from '../../../src/embedded/ports.js'
import { createTestDatabase, databaseUrl, TEST_JWT_SECRET, TEST_PEPPER } from '../../helpers/app.js'

const server = fileURLToPath(new URL('../../../dist/src/server.js', import.meta.url))

t.test('WEB_CONCURRENCY=2 serves from two processes and stops them all on SIGTERM', async (t) => {
  const db = await createTestDatabase(t)
  const port = await freePort()
  const child = spawn(process.execPath, [server], {
    env: {
      ...process.env, NODE_ENV: 'test', PORT: String(port), DATABASE_URL: databaseUrl(db), REDIS_URL: process.env.FGPAT_TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `${db}:`, TOKEN_PEPPERS: TEST_PEPPER, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', WEB_CONCURRENCY: '2',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error('the clustered API did not start')
    await new Promise((r) => setTimeout(r, 200))
  }
  const workers = () => execFileSync('pgrep', ['-P', String(child.pid)]).toString().trim().split('\n').filter(Boolean)
  t.equal(workers().length, 2, 'two API processes under the primary')

  // Every process answers /authorize (many connections spread over both).
  const jwt = await signDevJwt({ secret: TEST_JWT_SECRET, sub: 'service:test', scopes: ['authorize'], expiresIn: '5m' })
  const answers = await Promise.all(Array.from({ length: 40 }, () =>
    fetch(`http://127.0.0.1:${port}/api/v4/authorize`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ token: 'fgpat-nope', permission: 'read_code', resource: { type: 'project', id: 1 } }),
    }).then((r) => r.json() as Promise<{ reason: string }>)))
  t.same(new Set(answers.map((a) => a.reason)), new Set(['malformed_token']))

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'the primary exits cleanly after its processes')
})
