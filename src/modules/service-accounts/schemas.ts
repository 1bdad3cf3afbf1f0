import { type Static, Type } from 'typebox'
import { CalendarDate, Nullable, Page, PerPage } from '../../http/schemas.js'
import { GranularScope } from '../tokens/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

export const GroupParams = Type.Object({ id: Id })
export const AccountParams = Type.Object({ id: Id, user_id: Id })
export const AccountTokenParams = Type.Object({ id: Id, user_id: Id, token_id: Id })

export const CreateServiceAccountBody = Type.Union([
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Display name; default "Service account user" (as GitLab)' })),
      username: Type.Optional(Type.String({
        minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
        description: 'Default: service_account_group_<group id>_<random hex> (as GitLab). 409 username_taken when another user has it',
      })),
      email: Type.Optional(Type.String({ format: 'email', maxLength: 255, description: 'Default: a generated address that delivers nowhere; mail about the account goes to the group\'s owners' })),
      access_level: Type.Optional(Type.Union([Type.Literal(10), Type.Literal(15), Type.Literal(20), Type.Literal(30), Type.Literal(40)], {
        description: 'fgpat: its membership on the group, made with the account (10 guest … 40 maintainer; default 30 developer). ' +
          'Never owner: a service account does not manage the group that owns it',
      })),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])
export type CreateServiceAccountInput = Static<typeof CreateServiceAccountBody>

export const ServiceAccount = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    name: Type.String(),
    email: Type.String(),
    state: Type.String({ description: 'active; deactivated once deleted (its row stays: its tokens\' history refers to it)' }),
    kind: Type.Literal('service_account'),
    group_id: Type.Integer({ description: 'The top-level group that owns it' }),
    access_level: Nullable(Type.Integer({ description: 'Its membership on the group (null: none)' })),
  },
  { $id: 'ServiceAccount' },
)
export type ServiceAccountBody = Static<typeof ServiceAccount>

export const ListServiceAccountsQuery = Type.Object(
  {
    order_by: Type.Optional(Type.Union([Type.Literal('id'), Type.Literal('username')], { description: 'Default id (as GitLab)' })),
    sort: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'Default desc (as GitLab)' })),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type ListServiceAccountsQueryInput = Static<typeof ListServiceAccountsQuery>

export const CreateAccountTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    expires_at: Type.Optional(Nullable(CalendarDate('YYYY-MM-DD; omitted: the default lifetime in force; null: never, where no policy requires an expiry'))),
    granular_scopes: Type.Array(GranularScope, {
      minItems: 1, maxItems: 100,
      description: 'selected_memberships scopes on the owning group or inside it; anything else is 400 scope_outside_group',
    }),
  },
  { additionalProperties: false },
)
export type CreateAccountTokenInput = Static<typeof CreateAccountTokenBody>

export const ListAccountTokensQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type ListAccountTokensQueryInput = Static<typeof ListAccountTokensQuery>
