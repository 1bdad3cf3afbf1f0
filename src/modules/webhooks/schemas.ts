import { type Static, Type } from 'typebox'
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events.js'
import { Nullable, Page, PerPage } from '../../http/schemas.js'

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const EventType = Type.Union(WEBHOOK_EVENT_TYPES.map((e) => Type.Literal(e)), { description: 'A token event type' })
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'https:// URL of the receiver; its host must resolve to public addresses (or to a range in WEBHOOK_ALLOWED_RANGES, where http:// is accepted too)' })
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length * 2, description: 'The event types this endpoint receives' })
const Description = Type.String({ maxLength: 500 })

export const GroupParams = Type.Object({ id: Id }, { additionalProperties: false })
export const WebhookParams = Type.Object({ webhook_id: Id }, { additionalProperties: false })
export const GroupWebhookParams = Type.Object({ id: Id, webhook_id: Id }, { additionalProperties: false })
export const DeliveryParams = Type.Object({ webhook_id: Id, delivery_id: Id }, { additionalProperties: false })
export const GroupDeliveryParams = Type.Object({ id: Id, webhook_id: Id, delivery_id: Id }, { additionalProperties: false })
export const PageQuery = Type.Object({ page: Type.Optional(Page), per_page: Type.Optional(PerPage) }, { additionalProperties: false })

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean({ default: true })) },
  { additionalProperties: false },
)
export type CreateWebhookInput = Static<typeof CreateWebhookBody>

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean({ description: 'true re-enables an endpoint disabled after persistent failure (its failure count starts again)' })),
  },
  { additionalProperties: false },
)
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>

const when = (description: string) => Nullable(Type.String({ format: 'date-time', description }))

export const Webhook = Type.Object({
  id: Type.Integer(),
  group_id: Nullable(Type.Integer({ description: 'null: an instance webhook (every token event)' })),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_at: when('When it was disabled automatically after persistent failure'),
  disabled_reason: Nullable(Type.String()),
  consecutive_failures: Type.Integer({ description: 'Deliveries that failed in a row (every retry spent)' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

export const WebhookWithSecret = Type.Intersect([
  Webhook,
  Type.Object({ secret: Type.String({ description: 'The signing secret (Standard Webhooks, whsec_…): shown only now; verify deliveries with it' }) }),
])

export const Delivery = Type.Object({
  id: Type.Integer(),
  event_id: Type.Integer({ description: 'The audit event delivered' }),
  event_type: Type.String(),
  webhook_id: Type.String({ description: 'The webhook-id header: the same on every attempt and redelivery (receivers de-duplicate on it)' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  redeliveries: Type.Integer(),
  response_status: Nullable(Type.Integer({ description: 'HTTP status of the last attempt' })),
  duration_ms: Nullable(Type.Integer({ description: 'Duration of the last attempt' })),
  error: Nullable(Type.String({ description: 'Why the last attempt failed' })),
  created_at: Type.String({ format: 'date-time' }),
  last_attempt_at: when('Last attempt'),
  delivered_at: when('Accepted by the receiver (2xx)'),
})
