import { type Static, Type } from 'typebox'
import { CalendarDate, Page, PerPage, Timestamp } from '../../http/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

export const InventoryQuery = Type.Object(
  {
    user_id: Type.Optional(Id),
    kind: Type.Optional(Type.Union([Type.Literal('fine_grained'), Type.Literal('legacy')])),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')])),
    expires_before: Type.Optional(CalendarDate()),
    last_used_before: Type.Optional(Timestamp()),
    never_used: Type.Optional(Type.Boolean()),
    permission: Type.Optional(Type.String({ maxLength: 100, description: 'Tokens holding this permission (legacy scopes that grant it included)' })),
    search: Type.Optional(Type.String({ maxLength: 255, description: 'Part of the token name (case-insensitive), as GET /personal_access_tokens takes it' })),
    namespace_id: Type.Optional(Id),
    sort: Type.Optional(Type.Union(['created_desc', 'created_asc', 'expires_asc', 'expires_desc', 'last_used_desc', 'last_used_asc'].map((s) => Type.Literal(s)))),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type InventoryQueryInput = Omit<Static<typeof InventoryQuery>, 'sort'> & {
  sort?: 'created_desc' | 'created_asc' | 'expires_asc' | 'expires_desc' | 'last_used_desc' | 'last_used_asc'
}

export const InventorySummary = Type.Object({
  total: Type.Integer(),
  by_kind: Type.Object({ fine_grained: Type.Integer(), legacy: Type.Integer() }),
  by_state: Type.Object({ active: Type.Integer(), revoked: Type.Integer(), expired: Type.Integer() }),
  expiring_within_7_days: Type.Integer(),
  expiring_within_30_days: Type.Integer(),
  never_used: Type.Integer({ description: 'Active tokens never used' }),
  legacy_with_api: Type.Integer({ description: 'Active legacy tokens with the api scope' }),
})

export const RemoveAccessBody = Type.Union([
  Type.Object(
    { reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why (shown to the token\'s owner in the mail and on the token)' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
])

export const GroupParams = Type.Object({ id: Id })
export const GroupTokenParams = Type.Object({ id: Id, token_id: Id })
