// The recommendation's contract (GET /personal_access_tokens/:id/recommendation and …/apply).
import { type Static, Type } from 'typebox'
import { Nullable } from '../../http/schemas.js'
import { GranularScope, Preview } from './schemas.js'

const Days = Type.Integer({ minimum: 1, maximum: 365, description: 'The window: the last N days of recorded use, today included (1-365, default 30)' })

export const RecommendationQuery = Type.Object({ days: Type.Optional(Days) }, { additionalProperties: false })

export const ApplyRecommendationBody = Type.Union([
  Type.Object(
    {
      days: Type.Optional(Days),
      expected_version: Type.Optional(Type.Integer({
        minimum: 0, maximum: 2_147_483_647, // tokens.version is a PostgreSQL integer
        description: 'The version the recommendation you read was computed from (its `version`): a token changed since is refused with 409 stale_version',
      })),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])
export type ApplyRecommendationInput = NonNullable<Static<typeof ApplyRecommendationBody>>

const TargetKind = Type.Union([Type.Literal('project'), Type.Literal('group'), Type.Literal('user'), Type.Literal('instance'), Type.Literal('unknown')], {
  description: 'unknown: a resource that was not found, or a namespace that no longer exists',
})
const NamespaceUse = Type.Object({
  namespace_id: Nullable(Type.Integer({ description: 'The project or group; null for the user or the instance' })),
  kind: TargetKind,
  full_path: Nullable(Type.String()),
  count: Type.Integer({ description: 'Decisions there (allowed in used, denied in denied)' }),
  days: Type.Optional(Type.Integer({ description: 'Days with an allowed decision there' })),
})
const Evidence = Type.Object({
  allowed: Type.Integer({ description: 'Allowed decisions in the window' }),
  denied: Type.Integer({ description: 'Denied decisions in the window' }),
  days: Type.Integer({ description: 'Distinct days with an allowed decision' }),
})
const ReachCount = Type.Object({ projects: Type.Integer(), groups: Type.Integer() })
const Side = Type.Object({
  permissions: Type.Integer({ description: 'Distinct permissions (a legacy token: its scopes expanded)' }),
  description: Type.String({ description: 'Where they apply, in words' }),
  reach: ReachCount,
})

export const Recommendation = Type.Object({
  token_id: Type.Integer(),
  kind: Type.String({ description: 'fine_grained or legacy' }),
  version: Type.Integer({ description: 'The token version this was computed from: send it as expected_version when applying' }),
  window: Type.Object({ days: Type.Integer(), since: Type.String(), until: Type.String() }),
  evidence: Evidence,
  confidence: Type.Union([Type.Literal('none'), Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')], {
    description: 'From the evidence: none below 10 allowed decisions or 2 days (nothing recommended); low; medium from 50 decisions on 7 days; high from 200 on 14 days',
  }),
  summary: Type.String({ description: 'One sentence: current permissions and reach → recommended' }),
  used: Type.Array(Type.Object({ permission: Type.String(), title: Type.String(), allowed: Type.Integer(), namespaces: Type.Array(NamespaceUse) }), {
    description: 'Permissions with allowed decisions, where and how often',
  }),
  denied: Type.Array(Type.Object({
    permission: Type.String(), title: Type.String(), denied: Type.Integer(),
    held: Type.Boolean({ description: 'The token holds it somewhere (denied for where it was asked or for the owner\'s role)' }),
    namespaces: Type.Array(NamespaceUse),
  }), { description: 'What it tried and was denied: the job may need it. Never added to the recommendation' }),
  unused: Type.Array(Type.Object({ permission: Type.String(), title: Type.String() }), {
    description: 'Permissions it holds (bundles expanded; for a legacy token its scopes expanded) with no allowed decision in the window',
  }),
  recommended_granular_scopes: Nullable(Type.Array(GranularScope, {
    description: 'The smallest granular_scopes (request shape) that would have allowed every allowed decision in the window; null with reason when there is too little evidence',
  })),
  reason: Nullable(Type.String({ description: 'Why nothing is recommended' })),
  collapsed: Type.Array(Type.Object({
    group_id: Nullable(Type.Integer({ description: 'null: the owner\'s personal projects' })),
    full_path: Type.String(), permissions: Type.Array(Type.String()), used_projects: Type.Integer(), reachable_projects: Type.Integer(),
  }), { description: 'Where projects were replaced by their group: more than half (and at least 2) of the projects the token reaches in it were used' }),
  dropped: Type.Array(Type.Object({ permission: Type.String(), namespace_id: Nullable(Type.Integer()), why: Type.String() }), {
    description: 'Allowed uses left out because the token no longer holds that permission there',
  }),
  already_least_privilege: Type.Boolean({ description: 'The recommendation is what the token holds today' }),
  notes: Type.Array(Type.String()),
  current: Side,
  recommended: Nullable(Side),
  preview: Nullable({ ...Preview, description: 'POST /personal_access_tokens/preview for the recommended scopes: reach, warnings, policy problems' }),
  conversion: Nullable(Type.Object({
    grace_days: Type.Integer({ description: 'The instance setting legacy_conversion_grace_days: the default, and the longest, grace a conversion may ask for' }),
    grace_ends_at: Type.String({ description: 'When the legacy token would stop working if converted now with that grace' }),
    path: Type.String({ description: 'POST here to convert (without granular_scopes: these recommended scopes)' }),
  }, { description: 'For a live, not yet converted legacy token: what POST /personal_access_tokens/:id/convert would do now; null otherwise' })),
  apply: Type.Object({
    available: Type.Boolean(),
    why_not: Type.Optional(Type.String()),
    method: Type.Literal('POST'),
    path: Type.String(),
    body: Type.Object({ days: Type.Integer(), expected_version: Type.Integer() }),
    description: Type.String(),
  }),
})

export const AppliedRecommendation = Type.Object({
  token: Type.Ref('PersonalAccessToken'),
  applied_granular_scopes: Type.Array(GranularScope),
  summary: Type.String(),
  confidence: Type.String(),
})
