import { type Static, Type } from 'typebox'
import { CalendarDate, Nullable } from '../../http/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const AccessLevel = Type.Union([Type.Literal(10), Type.Literal(15), Type.Literal(20), Type.Literal(30), Type.Literal(40), Type.Literal(50)], {
  description: '10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer, 50 owner',
})

export const UserBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' }),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    email: Type.String({ format: 'email', maxLength: 255 }),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('deactivated')])),
    is_admin: Type.Optional(Type.Boolean()),
    kind: Type.Optional(Type.Union([Type.Literal('human'), Type.Literal('service_account')], {
      description: 'human (default), or service_account: no interactive login; the owners of service_account_group_id manage its tokens',
    })),
    service_account_group_id: Type.Optional(Nullable(Type.Integer({
      minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The top-level group that owns the service account; required with kind service_account, only with it',
    }))),
  },
  { additionalProperties: false },
)
export type UserInput = Static<typeof UserBody>

export const User = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    name: Type.String(),
    email: Type.String(),
    state: Type.String(),
    is_admin: Type.Boolean(),
    kind: Type.Union([Type.Literal('human'), Type.Literal('service_account')]),
    service_account_group_id: Nullable(Type.Integer()),
  },
  { $id: 'DirectoryUser' },
)

export const NamespaceBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('group'), Type.Literal('project'), Type.Literal('user')]),
    path: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    parent_id: Type.Optional(Nullable(Id)),
    owner_id: Type.Optional(Nullable(Id)),
    visibility: Type.Optional(Type.Union([Type.Literal('private'), Type.Literal('internal'), Type.Literal('public')])),
  },
  { additionalProperties: false },
)
export type NamespaceInput = Static<typeof NamespaceBody>

export const Namespace = Type.Object(
  {
    id: Type.Integer(),
    kind: Type.String(),
    path: Type.String(),
    full_path: Type.String(),
    name: Type.String(),
    parent_id: Nullable(Type.Integer()),
    owner_id: Nullable(Type.Integer()),
    visibility: Type.String(),
    traversal_ids: Type.Array(Type.Integer()),
  },
  { $id: 'DirectoryNamespace' },
)

export const MembershipBody = Type.Object(
  {
    access_level: AccessLevel,
    expires_at: Type.Optional(Nullable(CalendarDate())),
  },
  { additionalProperties: false },
)
export type MembershipInput = Static<typeof MembershipBody>

export const Membership = Type.Object(
  {
    user_id: Type.Integer(),
    namespace_id: Type.Integer(),
    access_level: Type.Integer(),
    expires_at: Nullable(Type.String()),
  },
  { $id: 'DirectoryMembership' },
)

export const IdParams = Type.Object({ id: Id })
export const MemberParams = Type.Object({ id: Id, user_id: Id })

export const MAX_BULK = 50_000
export const BulkUser = Type.Object({ id: Id, ...UserBody.properties }, { additionalProperties: false })
export const BulkNamespace = Type.Object({ id: Id, ...NamespaceBody.properties }, { additionalProperties: false })
export const BulkMembership = Type.Object(
  { user_id: Id, namespace_id: Id, ...MembershipBody.properties },
  { additionalProperties: false },
)
export const BulkBody = Type.Object(
  {
    users: Type.Optional(Type.Array(BulkUser, { maxItems: MAX_BULK })),
    namespaces: Type.Optional(Type.Array(BulkNamespace, { maxItems: MAX_BULK })),
    memberships: Type.Optional(Type.Array(BulkMembership, { maxItems: MAX_BULK })),
  },
  { additionalProperties: false },
)
export type BulkInput = Static<typeof BulkBody>

export const BulkResult = Type.Object({
  users: Type.Integer(),
  namespaces: Type.Integer(),
  memberships: Type.Integer(),
})
