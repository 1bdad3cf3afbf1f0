// `npm run migrate` (dist/src/cli/migrate.js): migrates an empty database to the latest version and
// exits 0, says so when there is nothing to do, and exits 1 with the reason when it cannot.
import pg from 'pg'
import t from 'tap'
import { migrations } from '../../../migrations/index.js'
import { databaseUrl, TEST_JWT_SECRET, TEST_PEPPER } from '../../helpers/app.js'
import { runEntry } from '../../helpers/processes.js'

const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = new pg.Client({ connectionString: process.env.FGPAT_TEST_PG_ADMIN_URL })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

const env = (url: string) => ({ NODE_ENV: 'test', DATABASE_URL: url, REDIS_URL: process.env.FGPAT_TEST_REDIS_URL ?? '', TOKEN_PEPPERS: TEST_PEPPER, AUTH_JWT_SECRET: TEST_JWT_SECRET })

t.test('migrates an empty database, then finds nothing to do', async (t) => {
  const name = `t_migrate_${process.pid}`
  await admin((c) => c.query(`create database ${name}`))
  t.teardown(() => admin((c) => c.query(`drop database if exists ${name} with (force)`)))
  const first = runEntry(t, 'cli/migrate.js', env(databaseUrl(name)))
  t.equal((await first.exited).code, 0, first.output())
  t.match(first.output(), `migrations applied: ${Object.keys(migrations).join(', ')}`, 'every migration, in order')
  const c = new pg.Client({ connectionString: databaseUrl(name) })
  await c.connect()
  const { rows } = await c.query<{ name: string }>('select name from kysely_migration order by name')
  await c.end()
  t.same(rows.map((r) => r.name), Object.keys(migrations), 'the database records each one')
  const second = runEntry(t, 'cli/migrate.js', env(databaseUrl(name)))
  t.equal((await second.exited).code, 0, second.output())
  t.match(second.output(), 'migrations: already up to date')
})

t.test('a database it cannot reach: exit 1 with the reason, no stack trace', async (t) => {
  const run = runEntry(t, 'cli/migrate.js', env(databaseUrl('t_migrate_does_not_exist')))
  t.equal((await run.exited).code, 1)
  t.match(run.output(), /migrations failed: .*t_migrate_does_not_exist/)
  t.notMatch(run.output(), /\n\s+at /, 'a message, not a stack')
})
