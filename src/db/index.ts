import { Kysely, PostgresDialect, type Transaction } from 'kysely'
import pg from 'pg'
import type { Database } from './types.js'

// ids are bigint in PostgreSQL but stay far below 2^53: read them as numbers, not strings.
pg.types.setTypeParser(20, (v) => Number(v))
const setParser = pg.types.setTypeParser as (oid: number, parse: (value: string) => unknown) => void
setParser(1016, (v) => (v === '{}' ? [] : v.slice(1, -1).split(',').map(Number))) // bigint[]
// DATE stays 'YYYY-MM-DD': turning it into a local-time Date would shift it across time zones.
pg.types.setTypeParser(1082, (v) => v)

export type Db = Kysely<Database>
export type Trx = Transaction<Database>

export function createDb(connectionString: string, max = 10, onIdleError?: (err: Error) => void): Db {
  const pool = new pg.Pool({ connectionString, max })
  // An idle connection can be cut (server restart, failover, Ctrl-C reaching an embedded server
  // first). pg emits that on the pool; unhandled it would crash the process. The next query
  // simply opens a new connection.
  pool.on('error', (err) => onIdleError?.(err))
  // The same for a connection checked out but between queries (a mail job's transaction while the
  // mail server answers): pg emits the error on the client itself, which the pool only watches
  // while idle. The transaction's next query fails; the process must not.
  pool.on('connect', (client) => client.on('error', (err) => onIdleError?.(err)))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
