import { type Static, Type } from 'typebox'
import { IpAddress, Nullable } from '../../http/schemas.js'
import { ANY_CHARACTERS } from '../../http/request-rules.js'

export const ResourceRef = Type.Object(
  {
    type: Type.Union([Type.Literal('project'), Type.Literal('group'), Type.Literal('user'), Type.Literal('instance')]),
    id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    // Exempt from the text rule: a path no namespace or user can have is a resource_not_found
    // decision (domain/resource-path.ts), not a request error.
    path: Type.Optional(Type.String({
      minLength: 1, maxLength: 1000, [ANY_CHARACTERS]: true,
      description: 'Full path ("acme/platform/api") or, for users, the username; any other text is simply not found',
    })),
  },
  { additionalProperties: false },
)
export type ResourceRefInput = Static<typeof ResourceRef>

const Permission = Type.String({ minLength: 1, maxLength: 100 })
const Ip = IpAddress('Client IP of the original request (IPv4 or IPv6), for IP-range policies')

/** A GitLab REST request as the backend received it: the route table says what it needs. */
export const ForwardedRequest = Type.Object(
  {
    method: Type.String({ minLength: 1, maxLength: 16, description: 'The HTTP method GitLab received: GET, HEAD (as GET), POST, PUT, PATCH or DELETE' }),
    path: Type.String({
      minLength: 1, maxLength: 8192,
      description: 'The path GitLab received, with /api/v4, still percent-encoded, query string allowed ("/api/v4/projects/acme%2Fapi/merge_requests?state=opened"); at most 2048 characters before the query',
    }),
  },
  { additionalProperties: false, description: 'Instead of permission(s) + resource: the GitLab REST request to authorize (see GET /api/v4/permissions for each permission\'s routes)' },
)

const CheckFields = {
  permission: Type.Optional(Permission),
  permissions: Type.Optional(Type.Array(Permission, { minItems: 1, maxItems: 50 })),
  resource: Type.Optional(ResourceRef),
  request: Type.Optional(ForwardedRequest),
  ip: Type.Optional(Ip),
}

export const AuthorizeBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), ...CheckFields },
  { additionalProperties: false },
)
export type AuthorizeInput = Static<typeof AuthorizeBody>

export const Check = Type.Object(CheckFields, { additionalProperties: false })
export type CheckInput = Static<typeof Check>

export const BatchBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), ip: Type.Optional(Ip), checks: Type.Array(Check, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
)

export const Decision = Type.Object(
  {
    allowed: Type.Boolean(),
    reason: Type.String({ description: 'allowed, or a stable deny code' }),
    missing: Type.Optional(Type.Array(Type.String(), { description: 'Titles of the permissions lacking ("Merge request: Create")' })),
    token: Type.Optional(Type.Object({ id: Type.Integer(), user_id: Type.Integer(), kind: Type.String(), expires_at: Nullable(Type.String()) })),
    scope: Type.Optional(Type.Array(Type.Object({ access: Type.String(), namespace_id: Nullable(Type.Integer()) }), { description: 'The token scopes that matched the resource' })),
    permission: Type.Optional(Type.String({ description: 'Request form: the permission the route needs' })),
    resource: Type.Optional(Type.Object(
      { type: Type.String(), id: Type.Optional(Type.Integer()), path: Type.Optional(Type.String()) },
      { description: 'Request form: the resource the path names (by id or full path, as given; /user/… is the token owner)' },
    )),
    accepted_permissions: Type.Optional(Type.Array(Type.String(), {
      description: 'Request form: the permissions that would allow the request: the route\'s, then the bundles that include it (also in the X-Accepted-Permissions header)',
    })),
  },
  { $id: 'Decision' },
)

export const BatchResult = Type.Object({ results: Type.Array(Type.Ref('Decision')) })

export const IntrospectBody = Type.Object(
  { token: Type.String({ maxLength: 200 }), token_type_hint: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
)

export const Introspection = Type.Object({
  active: Type.Boolean(),
  scope: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  sub: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  client_id: Type.Optional(Type.String()),
})
