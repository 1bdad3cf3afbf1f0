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

/** Bounds for a pool on a request path: nothing waits on PostgreSQL longer than these. */
export interface DbBounds {
  /** Each statement: the server cancels it after this (statement_timeout), the client gives up shortly after. */
  statementTimeoutMs: number
  /** Getting a connection: from the pool when all are busy, or opening a new one. */
  connectTimeoutMs: number
}

// The client's own deadline comes this long after the server's, so that a slow statement ends
// with the server's clean cancel (SQLSTATE 57014) and the client's deadline only catches a server
// (or network) that answers nothing at all.
const CLIENT_GRACE_MS = 500

export function createDb(connectionString: string, max = 10, onIdleError?: (err: Error) => void, bounds?: DbBounds): Db {
  const pool = new pg.Pool({
    connectionString,
    max,
    ...(bounds ? {
      connectionTimeoutMillis: bounds.connectTimeoutMs,
      statement_timeout: bounds.statementTimeoutMs,
      query_timeout: bounds.statementTimeoutMs + CLIENT_GRACE_MS,
    } : {}),
  })
  // An idle connection can be cut (server restart, failover, Ctrl-C reaching an embedded server
  // first). pg emits that on the pool; unhandled it would crash the process. The next query
  // simply opens a new connection.
  // Each connection reports it once, through its own listener below (the pool also re-emits an
  // idle connection's error: listened to, so it cannot crash the process, and not logged twice).
  pool.on('error', () => undefined)
  // The same for a connection checked out but between queries (a mail job's transaction while the
  // mail server answers): pg emits the error on the client itself, which the pool only watches
  // while idle. The transaction's next query fails; the process must not.
  pool.on('connect', (client) => client.on('error', (err) => onIdleError?.(err)))
  if (bounds) pool.on('connect', endOnClientTimeout)
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/**
 * When the client-side deadline (query_timeout) fires, node-postgres rejects the query but keeps
 * the connection with the statement still in flight; back in the pool, the next user's statements
 * would queue behind it, and a transaction's ROLLBACK (also timed out, so never sent) would leave
 * the session in an open transaction for the next user. Such a connection is ended instead: the
 * pool drops it, and the server rolls back whatever the session had open once it reads the end.
 */
function endOnClientTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((...args: unknown[]) => {
    const result = query(...args)
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        if ((err as Error | undefined)?.message === 'Query read timeout') client.end().catch(() => undefined)
      })
    }
    return result
  }) as typeof client.query
}
