// Kyselys on the test's database that record the SQL of every statement they send: for
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

/**
 * For build's `db`: the app's own database handle, recording the SQL of every statement the app
 * sends through it (a request's statements: clear `statements`, inject, read it).
 */
export function recordingAppDb(): { make: (databaseUrl: string) => Db; statements: string[] } {
  const statements: string[] = []
  const make = (databaseUrl: string) => new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 10 }) }),
    log: (e) => { statements.push(e.query.sql) },
  })
  return { make, statements }
}
