// Webhook endpoints of the instance (administrators) or of a group (its owners): the typed client's
// calls for both scopes behind one target, and each event type in words (src/domain/webhook-events.ts).
import type { paths } from '../../../client/index.js'
import { api, must, mustPage } from './api.js'

export type WebhookTarget = { kind: 'instance' } | { kind: 'group'; id: number }
type Base = paths['/api/v4/admin/personal_access_token_webhooks']
type CreateBody = NonNullable<Base['post']['requestBody']>['content']['application/json']
export type WebhookEvent = CreateBody['events'][number]
export type Webhook = Base['get']['responses']['200']['content']['application/json'][number]
export type WebhookWithSecret = Base['post']['responses']['201']['content']['application/json']
export type Delivery = paths['/api/v4/admin/personal_access_token_webhooks/{webhook_id}/deliveries']['get']['responses']['200']['content']['application/json'][number]
export interface WebhookInput {
  url: string
  events: WebhookEvent[]
  description: string
  enabled: boolean
}

/** Every event type the API accepts, in its order, with what makes it happen. */
export const WEBHOOK_EVENTS: ReadonlyArray<{ type: WebhookEvent; description: string }> = [
  { type: 'token.created', description: 'A token was created (also by duplicating one).' },
  { type: 'token.updated', description: 'A token’s name, description, scope or permissions changed.' },
  { type: 'token.rotated', description: 'A token was rotated: a new secret replaced the old one.' },
  { type: 'token.revoked', description: 'A token was revoked (by its owner, an owner or administrator, or automatically).' },
  { type: 'token.expiring', description: 'A token expires soon (the reminder its owner gets by mail).' },
  { type: 'token.expired', description: 'A token reached its expiry date.' },
  { type: 'token.reuse_detected', description: 'A secret already replaced by rotation was presented again: a sign it leaked.' },
  { type: 'token.leaked', description: 'A token’s secret was reported as leaked (secret scanning or a person).' },
  { type: 'token.group_access_removed', description: 'A group’s owners removed a token’s access to their group.' },
  { type: 'token.group_access_restored', description: 'A group’s owners restored a token’s access to their group.' },
  { type: 'token.converted', description: 'A legacy token was converted to a fine-grained one.' },
  { type: 'token.approval_requested', description: 'A token needs an owner’s approval to reach a group that requires it.' },
  { type: 'token.approval_decided', description: 'An approval request was approved, denied or lapsed.' },
]

const group = (t: WebhookTarget) => (t as { id: number }).id

export function listWebhooks(t: WebhookTarget): Promise<Webhook[]> {
  return t.kind === 'instance'
    ? must(api.GET('/api/v4/admin/personal_access_token_webhooks'))
    : must(api.GET('/api/v4/groups/{id}/personal_access_token_webhooks', { params: { path: { id: group(t) } } }))
}

export function createWebhook(t: WebhookTarget, body: WebhookInput): Promise<WebhookWithSecret> {
  return t.kind === 'instance'
    ? must(api.POST('/api/v4/admin/personal_access_token_webhooks', { body }))
    : must(api.POST('/api/v4/groups/{id}/personal_access_token_webhooks', { params: { path: { id: group(t) } }, body }))
}

export function updateWebhook(t: WebhookTarget, webhookId: number, body: Partial<WebhookInput>): Promise<Webhook> {
  return t.kind === 'instance'
    ? must(api.PUT('/api/v4/admin/personal_access_token_webhooks/{webhook_id}', { params: { path: { webhook_id: webhookId } }, body }))
    : must(api.PUT('/api/v4/groups/{id}/personal_access_token_webhooks/{webhook_id}', { params: { path: { id: group(t), webhook_id: webhookId } }, body }))
}

export async function deleteWebhook(t: WebhookTarget, webhookId: number): Promise<void> {
  await (t.kind === 'instance'
    ? must(api.DELETE('/api/v4/admin/personal_access_token_webhooks/{webhook_id}', { params: { path: { webhook_id: webhookId } } }))
    : must(api.DELETE('/api/v4/groups/{id}/personal_access_token_webhooks/{webhook_id}', { params: { path: { id: group(t), webhook_id: webhookId } } })))
}

export function rotateWebhookSecret(t: WebhookTarget, webhookId: number): Promise<WebhookWithSecret> {
  return t.kind === 'instance'
    ? must(api.POST('/api/v4/admin/personal_access_token_webhooks/{webhook_id}/rotate_secret', { params: { path: { webhook_id: webhookId } } }))
    : must(api.POST('/api/v4/groups/{id}/personal_access_token_webhooks/{webhook_id}/rotate_secret', { params: { path: { id: group(t), webhook_id: webhookId } } }))
}

export function listDeliveries(t: WebhookTarget, webhookId: number, page: number, perPage = 20) {
  const query = { page, per_page: perPage }
  return t.kind === 'instance'
    ? mustPage(api.GET('/api/v4/admin/personal_access_token_webhooks/{webhook_id}/deliveries', { params: { path: { webhook_id: webhookId }, query } }))
    : mustPage(api.GET('/api/v4/groups/{id}/personal_access_token_webhooks/{webhook_id}/deliveries', { params: { path: { id: group(t), webhook_id: webhookId }, query } }))
}

export function redeliver(t: WebhookTarget, webhookId: number, deliveryId: number): Promise<Delivery> {
  return t.kind === 'instance'
    ? must(api.POST('/api/v4/admin/personal_access_token_webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', { params: { path: { webhook_id: webhookId, delivery_id: deliveryId } } }))
    : must(api.POST('/api/v4/groups/{id}/personal_access_token_webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', { params: { path: { id: group(t), webhook_id: webhookId, delivery_id: deliveryId } } }))
}

/** The newest delivery of an endpoint (the list's "last delivery" column), or null. */
export async function lastDelivery(t: WebhookTarget, webhookId: number): Promise<Delivery | null> {
  return (await listDeliveries(t, webhookId, 1, 1)).items[0] ?? null
}

/** A delivery's state in words. */
export function deliveryLabel(d: Delivery): string {
  if (d.status === 'delivered') return `Delivered${d.response_status ? ` (${d.response_status})` : ''}`
  if (d.status === 'failed') return `Failed${d.response_status ? ` (${d.response_status})` : ''}`
  return d.attempts > 0 ? 'Retrying' : 'Pending'
}
