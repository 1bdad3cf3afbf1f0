// Shutdown within SHUTDOWN_TIMEOUT whatever state PostgreSQL and Redis are in — stalled (SIGSTOP)
// or already gone (SIGKILL) — for the API (and its cluster primary, whose API processes go with it)
// and the worker, each a real process against servers of the test's own. npm start: shutdown-start.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort } from '../../../src/embedded/ports.js'
import { ensureDatabase, startEmbeddedPostgres } from '../../../src/embedded/postgres.js'
import { startEmbeddedRedis } from '../../../src/embedded/redis.js'
import { createTestDatabase, databaseUrl, TEST_JWT_SECRET, TEST_PEPPER } from '../../helpers/app.js'
import { alive, answers, childrenOf, exitsWithin, type RunningEntry, runEntry, signal, waitUntil } from '../../helpers/processes.js'

// Each exit must come within BOUND_MS plus slack (see exitsWithin).
const exitsWithinBound = (t: Test, app: RunningEntry, send: () => void, label: string) => exitsWithin(t, app, send, label, BOUND_MS)

const BOUND_MS = 3000

type Tap = Test

/** A PostgreSQL and a redis-server of the test's own, so that stalling them disturbs no other test. */
async function ownDependencies(t: Tap) {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-deps-'))
  chmodSync(dir, 0o711) // our own folder: the postgres user (when we are root) must enter it
  const pg = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: await freePort(), password: 'deps', persistent: false, durable: false, log: () => undefined })
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), port: await freePort(), log: () => undefined })
  await ensureDatabase(pg.url('postgres'), 'fgpat')
  // The postmaster and its backends: stopping only the postmaster leaves open connections answering.
  const postgresProcesses = () => [pg.pid, ...childrenOf(pg.pid).map((c) => c.pid)]
  t.teardown(async () => {
    for (const pid of [...postgresProcesses(), redis.pid]) signal(pid, 'SIGCONT')
    await Promise.all([pg.stop(2000), redis.stop(2000)])
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    env: { DATABASE_URL: pg.url('fgpat'), REDIS_URL: redis.url },
    /** SIGSTOP (stalled: connections stay open, nothing answers) or SIGKILL (gone). */
    make: (sig: 'SIGSTOP' | 'SIGKILL') => {
      for (const pid of [...postgresProcesses(), redis.pid]) signal(pid, sig)
    },
  }
}

async function appEnv(deps: { env: Record<string, string> }) {
  return {
    ...deps.env, NODE_ENV: 'test', TOKEN_PEPPERS: TEST_PEPPER, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn',
    PORT: String(await freePort()), SHUTDOWN_TIMEOUT: `${BOUND_MS}ms`,
  }
}

for (const sig of ['SIGSTOP', 'SIGKILL'] as const) {
  const state = sig === 'SIGSTOP' ? 'stalled' : 'gone'

  t.test(`the API exits within SHUTDOWN_TIMEOUT with PostgreSQL and Redis ${state}`, async (t) => {
    const deps = await ownDependencies(t)
    const env = await appEnv(deps)
    const app = runEntry(t, 'server.js', env)
    await waitUntil('the API', () => answers(`http://127.0.0.1:${env.PORT}/healthz`), 60_000, app.output)
    deps.make(sig)
    await exitsWithinBound(t, app, () => signal(app.pid, 'SIGTERM'), `API, dependencies ${state}, SIGTERM`)
  })

  t.test(`the worker exits within SHUTDOWN_TIMEOUT with PostgreSQL and Redis ${state}`, async (t) => {
    const deps = await ownDependencies(t)
    const app = runEntry(t, 'worker.js', { ...(await appEnv(deps)), LOG_LEVEL: 'info' })
    await waitUntil('the worker', () => app.output().includes('worker started'), 60_000, app.output)
    deps.make(sig)
    await exitsWithinBound(t, app, () => signal(app.pid, 'SIGINT'), `worker, dependencies ${state}, SIGINT`)
  })
}

t.test('the cluster primary (WEB_CONCURRENCY=2) exits within the bound and leaves no API process behind', async (t) => {
  const deps = await ownDependencies(t)
  const env = { ...(await appEnv(deps)), WEB_CONCURRENCY: '2' }
  const app = runEntry(t, 'server.js', env)
  await waitUntil('two API processes', async () => (await answers(`http://127.0.0.1:${env.PORT}/healthz`)) && childrenOf(app.pid).length === 2, 60_000, app.output)
  const workers = childrenOf(app.pid).map((c) => c.pid)
  deps.make('SIGSTOP')
  await exitsWithinBound(t, app, () => signal(app.pid, 'SIGTERM'), 'primary, dependencies stalled, SIGTERM to the primary only')
  await waitUntil('the API processes to go', () => workers.every((p) => !alive(p)), 3000)
  t.pass('no API process left running')
})

t.test('a stdout nobody reads any more does not hold the exit (the final log flush gives up)', async (t) => {
  const db = await createTestDatabase(t)
  const env = {
    NODE_ENV: 'test', DATABASE_URL: databaseUrl(db), REDIS_URL: process.env.FGPAT_TEST_REDIS_URL ?? '', REDIS_KEY_PREFIX: `${db}:`,
    TOKEN_PEPPERS: TEST_PEPPER, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', PORT: String(await freePort()), SHUTDOWN_TIMEOUT: `${BOUND_MS}ms`,
  }
  const app = runEntry(t, 'server.js', env, { readStdout: false })
  await waitUntil('the API', () => answers(`http://127.0.0.1:${env.PORT}/healthz`), 60_000, app.output)
  // Two log lines per request: far more than the 64 KiB a pipe holds.
  for (let i = 0; i < 600; i++) await fetch(`http://127.0.0.1:${env.PORT}/api/v4/nothing-here-${i}`).then((r) => r.arrayBuffer())
  await exitsWithinBound(t, app, () => signal(app.pid, 'SIGTERM'), 'API with a full stdout, SIGTERM')
})
