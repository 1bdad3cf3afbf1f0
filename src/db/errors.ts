// Telling "PostgreSQL could not answer" from "PostgreSQL refused what we sent". The first is the
// network or the server (retry later, answer 503); the second is our data or our SQL (a bug or a
// bad row: retrying it changes nothing).

// SQLSTATE classes of an unavailable or overloaded server: 08 connection exception, 53 insufficient
// resources, 57 operator intervention (57014: statement_timeout; 57P01–03: shutting down, starting),
// 40 transaction rollback (serialization failure, deadlock: the same statement may pass next time),
// 58 system error (I/O).
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '40', '58'])

// Errors raised by the client side (node-postgres, the socket) before any SQLSTATE exists.
const CLIENT_SIDE = /connection terminated|connection timeout|timeout exceeded when trying to connect|query read timeout|econnrefused|econnreset|etimedout|ehostunreach|epipe|client has encountered a connection error|cannot use a pool after calling end|the server does not support ssl|too many clients/i

export function isPostgresUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.has(code.slice(0, 2))
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true // a Node socket error (ECONNREFUSED…)
  return typeof message === 'string' && CLIENT_SIDE.test(message)
}

/** A unique index refused the row (SQLSTATE 23505), optionally a given one. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, constraint: violated } = err as { code?: unknown; constraint?: unknown }
  return code === '23505' && (constraint === undefined || violated === constraint)
}
