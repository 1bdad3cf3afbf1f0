// PostgreSQL errors a service answers as a client's problem rather than a 500.

/** A unique index refused the row (SQLSTATE 23505), optionally a given one. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, constraint: violated } = err as { code?: unknown; constraint?: unknown }
  return code === '23505' && (constraint === undefined || violated === constraint)
}
