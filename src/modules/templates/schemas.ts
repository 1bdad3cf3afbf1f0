import { type Static, Type } from 'typebox'
import { Nullable } from '../../http/schemas.js'
import { GranularScope } from '../tokens/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const OwnerType = Type.Union([Type.Literal('builtin'), Type.Literal('instance'), Type.Literal('group'), Type.Literal('user')])
const Scopes = Type.Array(GranularScope, { minItems: 1, maxItems: 100, description: 'selected_memberships scopes may leave out ids: they are filled from template_targets when a token is created' })
const Lifetime = Nullable(Type.Integer({ minimum: 1, maximum: 400, description: 'Expiry given to tokens created from the template without expires_at' }))

export const Template = Type.Object({
  id: Type.Integer(),
  owner_type: OwnerType,
  owner_id: Nullable(Type.Integer({ description: 'The group (group templates) or user (personal templates)' })),
  name: Type.String(),
  description: Nullable(Type.String()),
  granular_scopes: Type.Array(GranularScope),
  default_lifetime_days: Lifetime,
  read_only: Type.Boolean(),
})
export type TemplateBody = Static<typeof Template>

export const CreateTemplateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    owner_type: Type.Optional(Type.Union([Type.Literal('instance'), Type.Literal('group'), Type.Literal('user')], { description: 'Default user (a personal template)' })),
    group_id: Type.Optional(Id),
    granular_scopes: Scopes,
    default_lifetime_days: Type.Optional(Lifetime),
  },
  { additionalProperties: false },
)
export type CreateTemplateInput = Static<typeof CreateTemplateBody>

export const UpdateTemplateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    granular_scopes: Type.Optional(Scopes),
    default_lifetime_days: Type.Optional(Lifetime),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateTemplateInput = Static<typeof UpdateTemplateBody>

export const TemplateParams = Type.Object({ id: Id })
export const TemplateListQuery = Type.Object(
  { owner_type: Type.Optional(OwnerType), group_id: Type.Optional(Id) },
  { additionalProperties: false },
)
