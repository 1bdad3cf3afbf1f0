import { type Static, Type } from 'typebox'
import { CalendarDate, Nullable, Page, PerPage, Timestamp } from '../../http/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const PermissionName = Type.String({ minLength: 1, maxLength: 100 })

const Access = Type.Union(
  [
    Type.Literal('selected_memberships'),
    Type.Literal('personal_projects'),
    Type.Literal('all_memberships'),
    Type.Literal('user'),
    Type.Literal('instance'),
  ],
  { description: 'Where the permissions apply: chosen groups/projects, personal projects, every membership, the user, the instance' },
)
const Permissions = Type.Array(PermissionName, { maxItems: 300, description: 'Permission names from GET /permissions' })

/**
 * A scope in a request: GitLab's request shape (group_ids / project_ids), or the per-target shape
 * responses use (group_id / project_id), so that what a client read can be sent back unchanged.
 */
export const GranularScope = Type.Object(
  {
    access: Access,
    permissions: Permissions,
    group_ids: Type.Optional(Type.Array(Id, { maxItems: 500, description: 'selected_memberships only' })),
    project_ids: Type.Optional(Type.Array(Id, { maxItems: 500, description: 'selected_memberships only' })),
    group_id: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'One group (selected_memberships only), as responses give it; not with group_ids/project_ids' }))),
    project_id: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'One project (selected_memberships only), as responses give it; not with group_ids/project_ids' }))),
  },
  { additionalProperties: false },
)
export type GranularScopeBody = Static<typeof GranularScope>

/** A scope in a response, as GitLab 19.x returns it: one entry per target, the unused id null. */
export const GranularScopeEntry = Type.Object(
  {
    access: Access,
    permissions: Type.Array(Type.String()),
    project_id: Nullable(Type.Integer({ description: 'The project of a selected_memberships scope on a project; otherwise null' })),
    group_id: Nullable(Type.Integer({ description: 'The group of a selected_memberships scope on a group; otherwise null' })),
  },
  { description: 'One target per entry (GitLab\'s response shape); requests take it back as it is, or group_ids/project_ids lists' },
)

const Name = Type.String({ minLength: 1, maxLength: 255, description: '1-255 characters' })
const Description = Type.String({ maxLength: 1000 })
const ExpiresAt = Nullable(CalendarDate('YYYY-MM-DD; the token stops working at 00:00 UTC that day'))
const LegacyScopes = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, description: 'Legacy scopes (api, read_api, read_repository, …); not with granular_scopes' })
const GranularScopes = Type.Array(GranularScope, { maxItems: 100, description: 'Fine-grained scopes; not with scopes' })
const ApprovalReason = Type.String({
  minLength: 1, maxLength: 1000,
  description: 'Why the token needs its reach: shown to the owners of each group that requires approval of the tokens reaching it (require_approval)',
})

export const CreateTokenBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Nullable(Description)),
    expires_at: Type.Optional(Nullable(CalendarDate(
      'YYYY-MM-DD; the token stops working at 00:00 UTC that day. Omitted: the default lifetime (instance or group default_lifetime_days, ' +
      'else 365 days as GitLab, capped by the maximum lifetime in force). null: never expires, where no policy requires an expiry',
    ))),
    scopes: Type.Optional(LegacyScopes),
    granular_scopes: Type.Optional(GranularScopes),
    template_id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Fill granular_scopes (and the default lifetime) from a template; not with scopes or granular_scopes' })),
    approval_reason: Type.Optional(ApprovalReason),
    template_targets: Type.Optional(Type.Object(
      { group_ids: Type.Optional(Type.Array(Id, { maxItems: 500 })), project_ids: Type.Optional(Type.Array(Id, { maxItems: 500 })) },
      { additionalProperties: false, description: "The groups/projects for the template's selected_memberships scopes" },
    )),
  },
  { additionalProperties: false },
)
export type CreateTokenInput = Static<typeof CreateTokenBody>

export const UpdateTokenBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    expires_at: Type.Optional(ExpiresAt),
    granular_scopes: Type.Optional(GranularScopes),
    approval_reason: Type.Optional(ApprovalReason),
  },
  { additionalProperties: false },
)
export type UpdateTokenInput = Static<typeof UpdateTokenBody>

export const RotateBody = Type.Union([
  Type.Object({ expires_at: Type.Optional(ExpiresAt) }, { additionalProperties: false }),
  Type.Null(),
])

export const DuplicateBody = Type.Union([
  Type.Object(
    {
      name: Type.Optional(Name),
      description: Type.Optional(Nullable(Description)),
      expires_at: Type.Optional(ExpiresAt),
      scopes: Type.Optional({ ...LegacyScopes, description: 'Instead of the original\'s scopes: legacy scopes for the copy; not with granular_scopes' }),
      granular_scopes: Type.Optional({ ...GranularScopes, description: 'Instead of the original\'s scopes: fine-grained scopes for the copy (a legacy original becomes a fine-grained token); not with scopes' }),
      approval_reason: Type.Optional(ApprovalReason),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])
export type DuplicateInput = NonNullable<Static<typeof DuplicateBody>>

export const ConvertBody = Type.Union([
  Type.Object(
    {
      granular_scopes: Type.Optional({ ...GranularScopes, description: 'The successor\'s fine-grained scopes. Omitted: the usage recommendation (GET /personal_access_tokens/:id/recommendation), what the legacy token was actually seen doing' }),
      name: Type.Optional({ ...Name, description: 'Omitted: the legacy token\'s name' }),
      description: Type.Optional(Nullable(Description)),
      expires_at: Type.Optional({ ...ExpiresAt, description: 'Omitted: as a duplicate, the default lifetime in force or the legacy token\'s lifetime length' }),
      grace_days: Type.Optional(Type.Integer({
        minimum: 0, maximum: 90,
        description: 'Days the legacy token keeps working beside its successor (0: revoked at the next sweep). Omitted, and at most: the instance setting legacy_conversion_grace_days (default 14)',
      })),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])
export type ConvertInput = NonNullable<Static<typeof ConvertBody>>

export const PreviewBody = Type.Object(
  {
    user_id: Type.Optional(Id),
    scopes: Type.Optional(LegacyScopes),
    granular_scopes: Type.Optional(GranularScopes),
    expires_at: Type.Optional(Nullable(CalendarDate('As on creation: checked against the expiry rules in force for these scopes (errors at body.expires_at)'))),
  },
  { additionalProperties: false },
)
export type PreviewInput = Static<typeof PreviewBody>

export const RawTokenBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const GroupAccessRemoval = Type.Object(
  {
    group_id: Type.Integer(),
    full_path: Type.String({ description: 'The group\'s full path today' }),
    removed_by: Type.Object(
      {
        type: Type.String({ description: 'user, token (a user acting with a personal access token) or service' }),
        id: Type.String(),
        username: Nullable(Type.String({ description: 'The person behind it; null for a service' })),
      },
      { description: 'Who removed the access' },
    ),
    removed_at: Type.String(),
    reason: Nullable(Type.String()),
  },
  { description: 'A group\'s owners removed this token\'s access to the group and everything below it' },
)
export type GroupAccessRemovalBody = Static<typeof GroupAccessRemoval>

export const Token = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Nullable(Type.String()),
    revoked: Type.Boolean(),
    active: Type.Boolean(),
    state: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
    kind: Type.Union([Type.Literal('fine_grained'), Type.Literal('legacy')]),
    created_at: Type.String(),
    expires_at: Nullable(Type.String()),
    last_used_at: Nullable(Type.String()),
    last_used_ips: Type.Array(Type.String()),
    user_id: Type.Integer(),
    scopes: Type.Array(Type.String()),
    granular: Type.Boolean({ description: 'A fine-grained token (GitLab\'s name for kind fine_grained)' }),
    granular_scopes: Type.Array(GranularScopeEntry, { description: 'Empty for legacy tokens' }),
    token_hint: Type.String({ description: 'Prefix and first characters, safe to display' }),
    revoked_at: Nullable(Type.String()),
    revoke_reason: Nullable(Type.String()),
    previous_personal_access_token_id: Nullable(Type.Integer()),
    duplicated_from_id: Nullable(Type.Integer()),
    template_id: Type.Optional(Nullable(Type.Integer({ description: 'The template the token was created from' }))),
    converted_from: Nullable(Type.Integer({ description: 'A fine-grained token made by converting a legacy token: that legacy token\'s id (POST /personal_access_tokens/:id/convert)' })),
    converted_to: Nullable(Type.Integer({ description: 'A legacy token converted to fine-grained: its successor\'s id' })),
    conversion_grace_ends_at: Nullable(Type.String({
      description: 'A converted legacy token: it keeps working until this instant, then the sweep revokes it (revoke_reason converted). ' +
        'On its fine-grained successor: the same instant, when the legacy token it replaces stops working',
    })),
    group_access_removals: Type.Array(GroupAccessRemoval, {
      description: 'Groups whose owners removed this token\'s access to them (and everything below them); elsewhere the token works as its scopes say. ' +
        'A rotation successor and a duplicate keep them. In a group\'s inventory, only the removals on that group, its ancestors and its subgroups are listed.',
    }),
    reach: Type.Optional(Type.Union([Type.Literal('direct'), Type.Literal('inherited')], {
      description: 'In a group\'s inventory only: how the token reaches the group. direct: a selected scope on the group or below it, or a legacy / ' +
        'all_memberships token of a member of the group or of something below it (owners may revoke it). inherited: only through a group above ' +
        '(a scope there, or its owner\'s membership there); owners may remove the group\'s access but not revoke it (403 group_owner_cannot_revoke_inherited).',
    })),
    owner_kind: Type.Optional(Type.Union([Type.Literal('human'), Type.Literal('service_account')], {
      description: 'In the inventories only: whether the token\'s owner is a person or a service account (managed by its group\'s owners)',
    })),
    token: Type.Optional(Type.String({ description: 'The secret: returned once, on create, rotate and duplicate' })),
    warnings: Type.Optional(Type.Array(Type.String())),
    usage: Type.Optional(
      Type.Object(
        {
          since: Type.String({ description: 'First day counted (YYYY-MM-DD)' }),
          permissions: Type.Array(Type.Object({ permission: Type.String(), allowed: Type.Integer(), denied: Type.Integer(), last_day: Type.String() })),
        },
        { description: 'What the token was actually asked to do over the last 30 days (shown on the single-token view)' },
      ),
    ),
  },
  { $id: 'PersonalAccessToken' },
)
export type TokenBody = Static<typeof Token>

export const TokenParams = Type.Object({ id: Id })
export const UserParams = Type.Object({ id: Id })

export const ListQuery = Type.Object(
  {
    user_id: Type.Optional(Id),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
    revoked: Type.Optional(Type.Boolean()),
    search: Type.Optional(Type.String({ maxLength: 255 })),
    kind: Type.Optional(Type.Union([Type.Literal('fine_grained'), Type.Literal('legacy')])),
    created_after: Type.Optional(Timestamp()),
    created_before: Type.Optional(Timestamp()),
    last_used_after: Type.Optional(Timestamp()),
    last_used_before: Type.Optional(Timestamp()),
    expires_after: Type.Optional(CalendarDate()),
    expires_before: Type.Optional(CalendarDate()),
    sort: Type.Optional(
      Type.Union(
        ['created_desc', 'created_asc', 'expires_asc', 'expires_desc', 'last_used_desc', 'last_used_asc', 'name_asc', 'name_desc'].map((s) => Type.Literal(s)),
      ),
    ),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type ListQueryInput = Static<typeof ListQuery>

const ReachedNamespace = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  full_path: Type.String(),
  parent_id: Nullable(Type.Integer()),
  visibility: Type.String(),
  access_level: Type.Integer({ description: "The owner's effective access level there" }),
})

const MIN_ACCESS_LEVELS = [5, 10, 15, 20, 25, 30, 40, 50] as const
export const AssociationsQuery = Type.Object(
  {
    min_access_level: Type.Optional(Type.Union(MIN_ACCESS_LEVELS.map((l) => Type.Literal(l)), {
      description: "Only groups and projects where the token owner's role is at least this: 5 (minimal access), 10 (guest), 15 (planner), " +
        '20 (reporter), 25 (security manager), 30 (developer), 40 (maintainer), 50 (owner) — the values GitLab takes',
    })),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
export type AssociationsQueryInput = Static<typeof AssociationsQuery>

const AccessLevelField = Type.Integer({ description: "The owner's effective access level there (10 guest … 50 owner), as access_levels" })

const AssociatedGroup = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  path: Type.String(),
  full_path: Type.String(),
  parent_id: Nullable(Type.Integer()),
  access_levels: Type.Integer({ description: "GitLab's name: the owner's effective access level on the group" }),
  visibility: Type.String(),
  access_level: AccessLevelField,
})

const AssociatedProject = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  name_with_namespace: Type.String({ description: 'The names from the top-level namespace down, joined by " / "' }),
  path: Type.String(),
  path_with_namespace: Type.String(),
  created_at: Type.String(),
  access_levels: Type.Object({
    project_access_level: Nullable(Type.Integer({ description: "The owner's membership on the project itself (50 in their personal namespace)" })),
    group_access_level: Nullable(Type.Integer({ description: "The owner's highest membership on the groups above the project" })),
  }),
  visibility: Type.String(),
  namespace: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    path: Type.String(),
    kind: Type.String({ description: 'group, or user for a personal namespace' }),
    full_path: Type.String(),
    parent_id: Nullable(Type.Integer()),
  }),
  full_path: Type.String(),
  parent_id: Nullable(Type.Integer()),
  access_level: AccessLevelField,
})

export const Associations = Type.Object({
  groups: Type.Array(AssociatedGroup),
  projects: Type.Array(AssociatedProject),
  truncated: Type.Boolean({ description: 'A later page has more groups or projects (see X-Next-Page)' }),
})

export const Preview = Type.Object({
  valid: Type.Boolean(),
  errors: Type.Array(Type.Object({ path: Type.String(), message: Type.String(), code: Type.String() })),
  warnings: Type.Array(Type.String()),
  permissions: Type.Array(Type.Object({ name: Type.String(), title: Type.String() }), { description: 'Every permission granted, bundles expanded' }),
  user: Type.Boolean({ description: 'Grants user-level permissions' }),
  instance: Type.Boolean({ description: 'Grants instance-level (admin) permissions' }),
  groups: Type.Array(ReachedNamespace),
  projects: Type.Array(ReachedNamespace),
  truncated: Type.Boolean(),
  expiry: Type.Object(
    {
      required: Type.Boolean({ description: 'An expiry is required: the token cannot be created with expires_at null (never)' }),
      max_lifetime_days: Type.Integer({ description: 'The maximum lifetime in force' }),
      latest: Type.String({ description: 'The latest expires_at allowed if created today (YYYY-MM-DD)' }),
      default_lifetime_days: Nullable(Type.Integer({ description: 'The configured default lifetime (instance or group default_lifetime_days, capped by the maximum); null when none is set' })),
      default: Type.String({ description: 'The expires_at a token created today without one gets (YYYY-MM-DD): the configured default, else 365 days or the maximum if lower' }),
      source: Type.String({ description: 'Which policy sets the maximum: "instance settings" or a group\'s policy' }),
    },
    {
      description: 'The expiry rules in force for a token with these scopes (the stricter of the instance settings and the policies of the groups it would reach), ' +
        'so a form can pre-fill the default and show the maximum. Without scopes: the instance settings alone.',
    },
  ),
  granular_equivalent: Type.Optional(Type.Array(GranularScope, {
    description: 'Legacy scopes only: the fine-grained scopes holding the same permissions where the legacy token reaches (every membership, ' +
      'personal projects, the user; the instance for administrators). Send them as granular_scopes to POST /personal_access_tokens/:id/duplicate ' +
      'to convert a legacy token, after removing what the job does not need.',
  })),
})

/** A revocation's note from the person revoking (query, form or JSON): kept in the audit event and told to the owner by mail. */
export const RevokeBody = Type.Union([
  Type.Object(
    { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Why it is revoked, in your words (up to 500 characters): recorded in the audit event as `comment` and quoted in the owner\'s mail' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
])
