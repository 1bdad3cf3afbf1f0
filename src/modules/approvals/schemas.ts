import { type Static, Type } from 'typebox'
import { Nullable, Page, PerPage } from '../../http/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const State = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('denied'), Type.Literal('expired')])

export const GroupParams = Type.Object({ id: Id })
export const RequestParams = Type.Object({ id: Id, request_id: Id })

export const ListQuery = Type.Object(
  { state: Type.Optional(State), page: Type.Optional(Page), per_page: Type.Optional(PerPage) },
  { additionalProperties: false },
)
export type ListQueryInput = Static<typeof ListQuery>

export const DecisionBody = Type.Union([
  Type.Object(
    { comment: Type.Optional(Type.String({ maxLength: 1000, description: 'Shown to the token\'s owner in the mail and kept in the audit event' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
])

export const ApprovalRequest = Type.Object(
  {
    id: Type.Integer(),
    group_id: Type.Integer({ description: 'The top-level group whose owners decide' }),
    full_path: Type.String(),
    state: State,
    reason: Nullable(Type.String({ description: 'The requester\'s own words (approval_reason), if any' })),
    token: Type.Object({
      id: Type.Integer({ description: 'The token now carrying the request: after a rotation, the successor' }),
      name: Type.String(),
      token_hint: Type.String(),
      revoked: Type.Boolean(),
      expires_at: Nullable(Type.String()),
    }),
    requester: Type.Object({ id: Type.Integer(), username: Type.String(), name: Type.String() }),
    created_at: Type.String(),
    expires_at: Type.String({ description: 'A pending request lapses (state expired) at this instant' }),
    decided_by: Nullable(Type.String({ description: 'user:<id>, token:<id> or service:<name>' })),
    decided_at: Nullable(Type.String()),
    comment: Nullable(Type.String()),
  },
  { $id: 'PersonalAccessTokenRequest' },
)
