// Shared TypeBox pieces used by several modules.
import { type Static, type TSchema, type TUnsafe, Type } from 'typebox'

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    message: Type.String({ description: 'Same as detail, for GitLab clients' }),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    successor_id: Type.Optional(Type.Integer({ description: 'already_rotated, already_converted: the id of the token that replaced the one in the request' })),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
)
export type ProblemBody = Static<typeof Problem>

export const ProblemRef = Type.Ref('Problem')

/** The usual error responses, so every route documents them. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, typeof ProblemRef> = {}
  for (const s of statuses) out[s] = ProblemRef
  return out
}

// Request values (the rules every request obeys are in request-rules.ts).

/** A calendar day, year 0001-9999 (format `date`, see domain/calendar.ts). */
export const CalendarDate = (description = 'YYYY-MM-DD') => Type.String({ format: 'date', maxLength: 10, description })

/** An instant: ISO 8601 date or date-time (format `timestamp`, see domain/calendar.ts). */
export const Timestamp = (description = 'ISO 8601 date (2026-01-31, midnight UTC) or date-time (2026-01-31T12:00:00Z; without an offset, UTC)') =>
  Type.String({ format: 'timestamp', maxLength: 40, description })

/** An IPv4 or IPv6 address as node:net's isIP accepts it (format `ip`). */
export const IpAddress = (description: string) => Type.String({ format: 'ip', maxLength: 64, description })

// Offset pagination ends at page 100,000: the furthest offset, (page - 1) × per_page ≤ 9,999,900
// rows, covers a million-token inventory at per_page 10 and stays far inside PostgreSQL's bigint
// (and JavaScript's safe integers). Beyond it the answer is a 400, not an overflow.
export const MAX_PAGE = 100_000
export const Page = Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1, description: `1-${MAX_PAGE}` })
export const PerPage = Type.Integer({ minimum: 1, maximum: 100, default: 20 })
// A scalar or null as a type list (`type: ["null", "string"]`, OpenAPI 3.1), not an anyOf: the
// response serializer (fast-json-stringify) runs a full validation per anyOf branch for every
// value, which on /authorize cost more than the decision (bench/README.md). Null first: with type
// coercion on (needed for query strings) ajv coerces only when no listed type matches, so a JSON
// null stays null. Anything but a scalar stays an anyOf, null first for the same reason.
const SCALARS = new Set(['string', 'integer', 'number', 'boolean'])
export const Nullable = <T extends TSchema>(schema: T): TUnsafe<Static<T> | null> => {
  const type = (schema as { type?: unknown }).type
  if (typeof type === 'string' && SCALARS.has(type)) return Type.Unsafe<Static<T> | null>({ ...schema, type: ['null', type] })
  return Type.Unsafe<Static<T> | null>(Type.Union([Type.Null(), schema]))
}
