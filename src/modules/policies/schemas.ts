import { type Static, Type } from 'typebox'
import { CalendarDate, Nullable } from '../../http/schemas.js'

const Days = (description: string) => Type.Integer({ minimum: 1, maximum: 400, description })
const DateOrNull = (description: string) => Nullable(CalendarDate(description))
const Permissions = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 300, description: 'Permission names from GET /permissions' })
const IpRanges = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, description: 'CIDR ranges (IPv4 or IPv6); empty: any address' })
const AutoRevoke = Nullable(Type.Integer({ minimum: 1, maximum: 3650, description: 'Revoke tokens unused this many days; null: never' }))

const ConversionGrace = Type.Integer({
  minimum: 0, maximum: 90,
  description: 'Days a legacy token converted to fine-grained (POST /personal_access_tokens/:id/convert) keeps working beside its successor before the sweep revokes it (revoke_reason converted); 0-90, default 14. Also the longest grace a conversion may ask for.',
})
const ReuseDetection = (description: string) => Type.Union([Type.Literal('revoke_family'), Type.Literal('notify')], { description })
const INSTANCE_REUSE = 'When a secret already replaced by rotation is presented again (a sign it leaked): revoke_family revokes every active token of its rotation chain (as GitLab), notify only records it and mails the owner. Both alert the owner. The stricter of the instance and the groups the token reaches wins.'
const GROUP_REUSE = 'revoke_family makes reuse of a rotated-away secret revoke the whole rotation chain of tokens reaching this group even where the instance only notifies; notify or null: the instance setting applies (a group cannot loosen it)'

const shared = {
  require_expiry: Type.Boolean({ description: 'Refuse tokens without expires_at' }),
  default_lifetime_days: Nullable(Days('Expiry given to new and duplicated tokens created without expires_at; null: none')),
  allow_legacy_tokens: Type.Boolean({ description: 'false: legacy (scopes) tokens cannot be created and stop working' }),
  blocked_permissions: Permissions,
  allowed_ip_ranges: IpRanges,
  auto_revoke_unused_days: AutoRevoke,
}

export const InstanceSettings = Type.Object({
  ...shared,
  max_lifetime_days: Days('Longest lifetime of a new token, 1-400 days'),
  legacy_tokens_blocked_from: DateOrNull('Legacy tokens stop working (and cannot be created) from this date'),
  token_prefix: Nullable(Type.String({ description: 'Prefix of new fine-grained tokens; null: the configured TOKEN_PREFIX' })),
  reuse_detection: ReuseDetection(INSTANCE_REUSE),
  legacy_conversion_grace_days: ConversionGrace,
  version: Type.Integer({ description: '0 until first saved (values then come from configuration)' }),
  updated_at: Nullable(Type.String()),
})

export const UpdateInstanceSettingsBody = Type.Object(
  {
    require_expiry: Type.Optional(shared.require_expiry),
    max_lifetime_days: Type.Optional(Days('Longest lifetime of a new token, 1-400 days')),
    default_lifetime_days: Type.Optional(shared.default_lifetime_days),
    allow_legacy_tokens: Type.Optional(shared.allow_legacy_tokens),
    legacy_tokens_blocked_from: Type.Optional(DateOrNull('Legacy tokens stop working from this date')),
    blocked_permissions: Type.Optional(Permissions),
    allowed_ip_ranges: Type.Optional(IpRanges),
    auto_revoke_unused_days: Type.Optional(AutoRevoke),
    token_prefix: Type.Optional(Nullable(Type.String({ maxLength: 20, description: '2-16 lowercase letters/digits followed by "-"' }))),
    reuse_detection: Type.Optional(ReuseDetection(INSTANCE_REUSE)),
    legacy_conversion_grace_days: Type.Optional(ConversionGrace),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateInstanceSettingsInput = Static<typeof UpdateInstanceSettingsBody>

const REQUIRE_APPROVAL = 'Tokens that gain reach into this group (created, duplicated, or edited to reach it) are denied here (approval_pending) until an owner approves them ' +
  '(GET /groups/:id/personal_access_token_requests). Tokens that reached the group before it was switched on are not affected'

const APPROVAL_NOTIFICATIONS = 'How the owners hear of approval requests (with require_approval). each_request (default): one mail to the owners per request, ' +
  'as it arrives. daily_digest: no per-request mail; once a day (APPROVAL_DIGEST_HOUR_UTC, default 08:00 UTC) each owner gets one mail listing every ' +
  'request still pending (requester, token, reach, reason, age, how to approve) and how many arrived since the last digest; no mail when nothing is pending. ' +
  'Switching back to each_request mails a last digest of what is pending at once. The requester hears the outcome immediately either way'
const ApprovalNotifications = Type.Union([Type.Literal('each_request'), Type.Literal('daily_digest')], { description: APPROVAL_NOTIFICATIONS })

export const GroupPolicy = Type.Object({
  group_id: Type.Integer(),
  full_path: Type.String(),
  ...shared,
  max_lifetime_days: Nullable(Days('Stricter maximum lifetime for tokens reaching this group; null: the instance maximum')),
  enforce_fine_grained_from: DateOrNull('Legacy tokens stop working on this group (and cannot be created by its members) from this date'),
  reuse_detection: Nullable(ReuseDetection(GROUP_REUSE)),
  require_approval: Type.Boolean({ description: REQUIRE_APPROVAL }),
  approval_notifications: ApprovalNotifications,
  version: Type.Integer({ description: '0 while the group has no policy of its own' }),
  updated_at: Nullable(Type.String()),
})

export const UpdateGroupPolicyBody = Type.Object(
  {
    require_expiry: Type.Optional(shared.require_expiry),
    max_lifetime_days: Type.Optional(Nullable(Days('Stricter maximum lifetime; null: the instance maximum'))),
    default_lifetime_days: Type.Optional(shared.default_lifetime_days),
    allow_legacy_tokens: Type.Optional(shared.allow_legacy_tokens),
    enforce_fine_grained_from: Type.Optional(DateOrNull('Legacy tokens stop working on this group from this date')),
    blocked_permissions: Type.Optional(Permissions),
    allowed_ip_ranges: Type.Optional(IpRanges),
    auto_revoke_unused_days: Type.Optional(AutoRevoke),
    reuse_detection: Type.Optional(Nullable(ReuseDetection(GROUP_REUSE))),
    require_approval: Type.Optional(Type.Boolean({ description: REQUIRE_APPROVAL })),
    approval_notifications: Type.Optional(ApprovalNotifications),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateGroupPolicyInput = Static<typeof UpdateGroupPolicyBody>

export const GroupParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) })
