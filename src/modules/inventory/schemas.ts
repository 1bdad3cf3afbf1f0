import { type Static, Type } from 'typebox'
import { CalendarDate, Nullable, Page, PerPage, Timestamp } from '../../http/schemas.js'

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

export const LegacyReportQuery = Type.Object(
  {
    cutoff: Type.Optional(CalendarDate('What if legacy tokens stopped working from this day (YYYY-MM-DD)? Omitted: the group\'s enforce_fine_grained_from (instance: legacy_tokens_blocked_from)')),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type LegacyReportQueryInput = Static<typeof LegacyReportQuery>

const ScopeRequest = Type.Object(
  {
    access: Type.String(),
    permissions: Type.Array(Type.String()),
    group_ids: Type.Optional(Type.Array(Type.Integer())),
    project_ids: Type.Optional(Type.Array(Type.Integer())),
  },
  { additionalProperties: true },
)

export const LegacyReport = Type.Object({
  summary: Type.Object({
    group_id: Type.Optional(Type.Integer()),
    full_path: Type.Optional(Type.String()),
    total: Type.Integer({ description: 'Live legacy tokens that reach the instance (administrators) or the group' }),
    used_last_30_days: Type.Integer({ description: 'Last used on one of the last 30 days (UTC), today included' }),
    with_proposal: Type.Integer({ description: 'With enough recorded use in the recommendation window for a proposal (see GET /personal_access_tokens/:id/recommendation)' }),
    being_converted: Type.Integer({ description: 'Converted, still working until their grace ends' }),
    enforcement_date: Nullable(Type.String({ description: 'The group\'s (its top-level group\'s) enforce_fine_grained_from; for administrators the instance\'s legacy_tokens_blocked_from' })),
    cutoff: Nullable(Type.String({ description: 'The day would_stop_working counts for: ?cutoff=, else enforcement_date' })),
    cutoff_source: Nullable(Type.Union([Type.Literal('query'), Type.Literal('group_policy'), Type.Literal('instance_settings')])),
    would_stop_working: Nullable(Type.Integer({
      description: 'Live legacy tokens still live at the cutoff (not expired, and not revoked by a conversion, before that day): they stop working then. null without a cutoff',
    })),
  }),
  tokens: Type.Array(Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    token_hint: Type.String(),
    scopes: Type.Array(Type.String()),
    created_at: Type.String(),
    expires_at: Nullable(Type.String()),
    last_used_at: Nullable(Type.String()),
    owner: Type.Object({ id: Type.Integer(), username: Type.String(), name: Type.String() }),
    conversion: Type.Object({
      status: Type.Union([Type.Literal('not_converted'), Type.Literal('converting')]),
      successor_id: Nullable(Type.Integer()),
      grace_ends_at: Nullable(Type.String()),
    }),
    proposal: Type.Object({
      confidence: Type.String({ description: 'none, low, medium, high: how much recorded use backs the proposal' }),
      summary: Type.String(),
      recommended_granular_scopes: Nullable(Type.Array(ScopeRequest, { description: 'What POST /personal_access_tokens/:id/convert would give the successor without granular_scopes' })),
      reason: Nullable(Type.String({ description: 'Why there is no proposal' })),
      scopes_outside_group: Type.Optional(Type.Integer({ description: 'Group report: groups and projects outside this group the proposal also names, not shown here' })),
    }),
  }), { description: 'Most recently used first; paginated (page, per_page, X-Total and Link as GitLab)' }),
})
