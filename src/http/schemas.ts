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

export const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, description: 'Numeric id' }) })

export const DateOnly = Type.String({ format: 'date', description: 'YYYY-MM-DD' })
export const DateTime = Type.String({ format: 'date-time' })
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
