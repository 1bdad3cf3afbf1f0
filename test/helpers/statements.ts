// Kyselys on the test's database that record the SQL of every statement they send: for
// tests that assert what a repository function asks PostgreSQL (how many statements, which function).
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Db } from '../../src/db/index.js'
import type { Database } from '../../src/db/types.js'
import type { TestContext } from './app.js'

/** A Kysely on `databaseUrl` that appends the SQL of each statement it sends to `statements`. */
function recordingKysely(databaseUrl: string, max: number, statements: string[]): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max }) }),
    log: (e) => { statements.push(e.query.sql) },
  })
}

export function recordingDb(t: { teardown: (fn: () => Promise<void>) => void }, ctx: TestContext): { db: Db; statements: string[] } {
  const statements: string[] = []
  const db = recordingKysely(ctx.config.databaseUrl, 1, statements)
  t.teardown(() => db.destroy())
  return { db, statements }
}

/**
 * For build's `db`: the app's own database handle, recording the SQL of every statement the app
 * sends through it (a request's statements: clear `statements`, inject, read it).
 */
export function recordingAppDb(): { make: (databaseUrl: string) => Db; statements: string[] } {
  const statements: string[] = []
  return { make: (databaseUrl) => recordingKysely(databaseUrl, 10, statements), statements }
}

/** The statements that open or end a transaction. */
export const transactionStatements = (statements: string[]) => statements.filter((s) => /^(begin|commit|rollback)$/i.test(s.trim()))

/** The statements that write: an INSERT, UPDATE or DELETE, or a call of one of the named writing functions. */
export const writingStatements = (statements: string[], functions: string[]) =>
  statements.filter((s) => /^\s*(insert|update|delete)\b/i.test(s) || functions.some((f) => s.includes(`${f}(`)))
