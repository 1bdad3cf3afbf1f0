// build(t): a real app on its own PostgreSQL database (cloned from the migrated template) and its
// own Redis key prefix, closed and dropped when the test ends. No mocks.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import pg from 'pg'
import { buildApp, type App } from '../../src/app.js'
import { signDevJwt } from '../../src/auth/dev-jwt.js'
import { type Config, loadConfig } from '../../src/config.js'
import { createDb, type Db } from '../../src/db/index.js'
import type { Clock } from '../../src/domain/dates.js'

export const TEST_JWT_SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'
export const TEST_PEPPER = 'test-pepper-test-pepper-test-pepper-0123456789'

interface Tap {
  teardown: (fn: () => unknown) => void
}

function required(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\` (it starts PostgreSQL and Redis)`)
  return v
}

export function databaseUrl(name: string): string {
  const u = new URL(required('FGPAT_TEST_PG_ADMIN_URL'))
  u.pathname = `/${name}`
  return u.toString()
}

/**
 * A database of its own, created empty (not cloned from the migrated template) and dropped after
 * the test: for tests that migrate step by step (a migration's up and down, a migration over old data).
 */
export async function emptyDatabase(t: { teardown: (fn: () => Promise<void>) => void }, prefix: string): Promise<Db> {
  const name = `${prefix}_${process.pid}`
  const admin = new pg.Client({ connectionString: required('FGPAT_TEST_PG_ADMIN_URL') })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const db = createDb(databaseUrl(name), 2)
  t.teardown(async () => {
    await db.destroy()
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  return db
}

export async function createTestDatabase(t: Tap): Promise<string> {
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`
  const admin = new pg.Client({ connectionString: required('FGPAT_TEST_PG_ADMIN_URL') })
  await admin.connect()
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${required('FGPAT_TEST_TEMPLATE')}`)
      break
    } catch (err) {
      // another test file may be cloning the template at this instant
      if (attempt > 20) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  await admin.end()
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: required('FGPAT_TEST_PG_ADMIN_URL') })
    await c.connect()
    await c.query(`drop database if exists ${name} with (force)`)
    await c.end()
  })
  return name
}

/**
 * For a test that reads, writes or asserts what Redis holds through the app's own client: a
 * generous command bound. On a loaded machine (CI, two cores shared with browsers) a turn can stall
 * past the default 100 ms, and the app then rightly falls back (counts in memory, skips a write, or
 * the test's own KEYS fails with "Command timed out"): the fallback the fault tests check, not what
 * these check. (A KEYS in jobs/exactly-once.test.ts did cross it in a loaded fresh-clone run.)
 */
export const REDIS_NOT_UNDER_TEST = { REDIS_COMMAND_TIMEOUT_MS: '10000' }

export function testConfig(dbName: string, overrides: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(dbName),
    REDIS_URL: required('FGPAT_TEST_REDIS_URL'),
    REDIS_KEY_PREFIX: `${dbName}:`,
    TOKEN_PEPPERS: TEST_PEPPER,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    SEED_DEMO: 'false',
    // The security suites fail on purpose hundreds of times from 127.0.0.1; auth.test.ts turns it on.
    AUTH_FAILURE_LIMIT: '0',
    // Tests seed through the app's pool (100,000 rows at a time) on a busy machine; the timeouts
    // themselves are tested with their own values (test/integration/faults/).
    DATABASE_STATEMENT_TIMEOUT_MS: '60000',
    // lru-cache reserves every slot when an app is built: at the default 200,000 that was ~0.15 s
    // of CPU per build, ~350 builds a run. No test holds more; cache.test.ts checks the bound itself.
    CACHE_L1_ENTRIES: '5000',
    ...overrides,
  })
}

/** Collects every log line the app writes, so tests can prove secrets never appear in them. */
export class LogCapture extends Writable {
  lines: string[] = []
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.lines.push(chunk.toString())
    done()
  }
  get text() {
    return this.lines.join('')
  }
}

export interface TestContext {
  app: App
  config: Readonly<Config>
  dbName: string
  logs: LogCapture
  jwt: {
    user: (id: number, scopes?: string[]) => Promise<string>
    service: (name: string, scopes: string[]) => Promise<string>
  }
}

export async function build(
  t: Tap,
  /** `env` may depend on the test's database name (e.g. a DATABASE_URL through PgBouncer). */
  opts: {
    clock?: Clock
    env?: Record<string, string> | ((dbName: string) => Record<string, string>)
    /** The app's database handle instead of its own (e.g. recordingAppDb's); the test's teardown ends it after the app. */
    db?: (databaseUrl: string) => Db
  } = {},
): Promise<TestContext> {
  const dbName = await createTestDatabase(t)
  const config = testConfig(dbName, typeof opts.env === 'function' ? opts.env(dbName) : opts.env)
  const logs = new LogCapture()
  const db = opts.db?.(config.databaseUrl)
  const app = await buildApp(config, { clock: opts.clock, logStream: logs, db })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await db?.destroy()
  })
  if (config.cacheL1) await untilTrusted(app)
  return {
    app,
    config,
    dbName,
    logs,
    jwt: {
      user: (id, scopes = []) => signDevJwt({ secret: TEST_JWT_SECRET, sub: String(id), scopes }),
      service: (name, scopes) => signDevJwt({ secret: TEST_JWT_SECRET, sub: `service:${name}`, scopes }),
    },
  }
}

/**
 * Until the app hears invalidations (its PostgreSQL listener answered a heartbeat), the
 * in-process tier (L1) is bypassed; tests about it start once it is in use.
 */
export async function untilTrusted(app: App, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!app.policyCache.l1Active) {
    if (Date.now() > deadline) throw new Error('the invalidation listener did not connect')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A clock the test moves by hand instead of sleeping. */
export function manualClock(start = new Date()): Clock & { set: (d: Date | string) => void; advanceDays: (n: number) => void } {
  let now = new Date(start)
  const clock = (() => new Date(now)) as Clock & { set: (d: Date | string) => void; advanceDays: (n: number) => void }
  clock.set = (d) => (now = new Date(d))
  clock.advanceDays = (n) => (now = new Date(now.getTime() + n * 86_400_000))
  return clock
}
