import pg from 'pg'

/**
 * A pg.Client for one short task (a readiness probe, a CREATE DATABASE), whose failures surface
 * only as the rejections of its calls. pg also emits 'error' on the client when the server ends the
 * connection outside a query (a FATAL "terminating connection due to administrator command" from a
 * PostgreSQL stopping while the client is between statements or ending), and an 'error' nobody
 * listens to is an uncaught exception: npm start's Ctrl-C while its database was made crashed that
 * way (exit 1, PostgreSQL left to the parent-death SIGKILL). The caller's next call rejects instead.
 */
export function taskClient(connectionString: string, connectionTimeoutMillis = 10_000): pg.Client {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis })
  client.on('error', () => undefined)
  return client
}
