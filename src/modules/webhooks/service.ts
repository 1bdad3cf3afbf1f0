// Webhook endpoints of the instance (administrators) and of groups (their owners): register, list,
// change, delete, rotate the secret, read the delivery log, ask for a redelivery. Every change is
// one transaction with its audit event; a redelivery is an audit event too, which the outbox turns
// into the delivery job (src/jobs/webhooks.ts), so the API needs no queue of its own.
import { type Caller, actorOf } from '../../auth/caller.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import { allowList } from '../../domain/webhook-targets.js'
import { AppError, invalidField, notFound } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { manageableGroup, requireAdmin } from '../policies/access.js'
import * as repo from './repository.js'
import type { CreateWebhookInput, UpdateWebhookInput } from './schemas.js'
import { newSigningSecret, seal } from './secret-box.js'
import { checkWebhookUrl } from './target-guard.js'

export interface WebhookDeps {
  db: Db
  config: Readonly<Config>
  clock: Clock
}

export const WEBHOOK_TARGET = 'webhook_endpoint'
/** Audit action the outbox turns into a redelivery job. */
export const REDELIVERY_ACTION = 'webhook.redelivery_requested'

const present = (row: repo.EndpointRow) => ({
  id: row.id,
  group_id: row.group_id,
  url: row.url,
  description: row.description,
  events: row.events,
  enabled: row.enabled,
  disabled_at: row.disabled_at?.toISOString() ?? null,
  disabled_reason: row.disabled_reason,
  consecutive_failures: row.consecutive_failures,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
})

const presentDelivery = (row: Awaited<ReturnType<typeof repo.listDeliveries>>['rows'][number]) => ({
  id: row.id,
  event_id: row.event_id,
  event_type: row.event_type,
  webhook_id: row.message_id,
  status: row.status,
  attempts: row.attempts,
  redeliveries: row.redeliveries,
  response_status: row.response_status,
  duration_ms: row.duration_ms,
  error: row.error,
  created_at: row.created_at.toISOString(),
  last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
  delivered_at: row.delivered_at?.toISOString() ?? null,
})

export function createWebhookService(deps: WebhookDeps) {
  const { db, config, clock } = deps
  const allowed = allowList(config.webhookAllowedRanges)
  const by = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

  /** null for the instance (administrators only); the group id when the caller owns it (else 404). */
  async function ownerOf(caller: Caller, groupId: number | null, write: boolean): Promise<repo.Owner> {
    if (groupId === null) {
      requireAdmin(caller, 'Instance webhooks')
      return null
    }
    const group = await manageableGroup(db, caller, groupId, clock(), write ? 'update_group_token_policy' : 'read_group_token_policy')
    return group.id
  }

  async function endpoint(owner: repo.Owner, id: number) {
    const row = await repo.findEndpoint(db, owner, id)
    if (!row) throw notFound(`Webhook ${id}`)
    return row
  }

  async function checkUrl(url: string) {
    const problem = await checkWebhookUrl(url, allowed)
    if (problem) throw invalidField('body.url', problem, 'webhook_url_refused')
  }

  async function list(caller: Caller, groupId: number | null) {
    const owner = await ownerOf(caller, groupId, false)
    return (await repo.listEndpoints(db, owner)).map(present)
  }

  async function show(caller: Caller, groupId: number | null, id: number) {
    return present(await endpoint(await ownerOf(caller, groupId, false), id))
  }

  async function create(caller: Caller, groupId: number | null, input: CreateWebhookInput, ctx: AuditContext) {
    const owner = await ownerOf(caller, groupId, true)
    await checkUrl(input.url)
    const secret = newSigningSecret()
    const events = [...new Set(input.events)]
    const id = await db.transaction().execute(async (trx) => {
      const id = await repo.insertEndpoint(trx, {
        group_id: owner, url: input.url, description: input.description ?? '', events, enabled: input.enabled ?? true,
        secret_box: seal(secret, config.tokenPeppers), created_by: by(caller),
      })
      await recordAuditEvent(trx, audit(ctx, 'webhook.created', { type: WEBHOOK_TARGET, id }, { url: input.url, events }, owner))
      return id
    })
    return { ...present(await endpoint(owner, id)), secret }
  }

  async function update(caller: Caller, groupId: number | null, id: number, input: UpdateWebhookInput, ctx: AuditContext) {
    const owner = await ownerOf(caller, groupId, true)
    const before = await endpoint(owner, id)
    if (input.url !== undefined && input.url !== before.url) await checkUrl(input.url)
    const values = { ...input, ...(input.events ? { events: [...new Set(input.events)] } : {}) }
    await db.transaction().execute(async (trx) => {
      await repo.updateEndpoint(trx, id, values)
      await recordAuditEvent(trx, audit(ctx, 'webhook.updated', { type: WEBHOOK_TARGET, id }, { changes: Object.keys(input) }, owner))
    })
    return present(await endpoint(owner, id))
  }

  async function remove(caller: Caller, groupId: number | null, id: number, ctx: AuditContext) {
    const owner = await ownerOf(caller, groupId, true)
    const row = await endpoint(owner, id)
    await db.transaction().execute(async (trx) => {
      await repo.deleteEndpoint(trx, id)
      await recordAuditEvent(trx, audit(ctx, 'webhook.deleted', { type: WEBHOOK_TARGET, id }, { url: row.url }, owner))
    })
  }

  async function rotateSecret(caller: Caller, groupId: number | null, id: number, ctx: AuditContext) {
    const owner = await ownerOf(caller, groupId, true)
    await endpoint(owner, id)
    const secret = newSigningSecret()
    await db.transaction().execute(async (trx) => {
      await repo.updateEndpoint(trx, id, { secret_box: seal(secret, config.tokenPeppers) })
      await recordAuditEvent(trx, audit(ctx, 'webhook.secret_rotated', { type: WEBHOOK_TARGET, id }, {}, owner))
    })
    return { ...present(await endpoint(owner, id)), secret }
  }

  async function deliveries(caller: Caller, groupId: number | null, id: number, page: number, perPage: number) {
    const owner = await ownerOf(caller, groupId, false)
    await endpoint(owner, id)
    const { rows, total } = await repo.listDeliveries(db, id, page, perPage)
    return { items: rows.map(presentDelivery), total }
  }

  async function redeliver(caller: Caller, groupId: number | null, id: number, deliveryId: number, ctx: AuditContext) {
    const owner = await ownerOf(caller, groupId, true)
    const hook = await endpoint(owner, id)
    if (!hook.enabled) throw new AppError(409, 'webhook_disabled', `Webhook ${id} is disabled; enable it (PUT with "enabled": true) before asking for a redelivery`)
    return db.transaction().execute(async (trx) => {
      const row = await repo.requestRedelivery(trx, id, deliveryId)
      if (!row) throw notFound(`Delivery ${deliveryId}`)
      await recordAuditEvent(trx, audit(ctx, REDELIVERY_ACTION, { type: 'webhook_delivery', id: deliveryId }, { webhook_id: id, round: row.redeliveries }, owner))
      return presentDelivery(row)
    })
  }

  return { list, show, create, update, remove, rotateSecret, deliveries, redeliver }
}

export type WebhookService = ReturnType<typeof createWebhookService>
