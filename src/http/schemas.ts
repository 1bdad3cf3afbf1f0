// Shared TypeBox pieces used by several modules.
import { Type, type Static } from 'typebox'

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
// Null first: with type coercion on (needed for query strings) ajv would otherwise turn a JSON null
// into "" while trying the string branch of the union.
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([Type.Null(), schema])
