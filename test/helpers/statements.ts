// A second Kysely on the test's database that records the SQL of every statement it sends: for
// tests that assert what a repository function asks PostgreSQL (how many statements, which function).
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Db } from '../../src/db/index.js'
import type { Database } from '../../src/db/types.js'
import type { TestContext } from './app.js'

export function recordingDb(t: { teardown: (fn: () => Promise<void>) => void }, ctx: TestContext): { db: Db; statements: string[] } {
  const statements: string[] = []
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: ctx.config.databaseUrl, max: 1 }) }),
    log: (e) => { statements.push(e.query.sql) },
  })
  t.teardown(() => db.destroy())
  return { db, statements }
}
