// Queries on the webhook tables.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import { withWebhookTables } from './tables.js'

/** null: the instance's (administrators') webhooks; a number: that group's. */
export type Owner = number | null

const ENDPOINT_COLUMNS = [
  'id', 'group_id', 'url', 'description', 'events', 'enabled', 'created_at', 'updated_at', 'disabled_at', 'disabled_reason', 'consecutive_failures', 'failing_since',
] as const

export async function listEndpoints(db: Db, owner: Owner) {
  const q = withWebhookTables(db).selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).orderBy('id')
  return (owner === null ? q.where('group_id', 'is', null) : q.where('group_id', '=', owner)).execute()
}

export async function findEndpoint(db: Db | Trx, owner: Owner, id: number) {
  const q = withWebhookTables(db as Db).selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('id', '=', id)
  return (owner === null ? q.where('group_id', 'is', null) : q.where('group_id', '=', owner)).executeTakeFirst()
}
export type EndpointRow = NonNullable<Awaited<ReturnType<typeof findEndpoint>>>

export async function insertEndpoint(trx: Trx, values: { group_id: Owner; url: string; description: string; events: string[]; enabled: boolean; secret_box: Buffer; created_by: string }) {
  const row = await withWebhookTables(trx).insertInto('webhook_endpoints').values(values).returning('id').executeTakeFirstOrThrow()
  return row.id
}

export async function updateEndpoint(trx: Trx, id: number, values: { url?: string; description?: string; events?: string[]; enabled?: boolean; secret_box?: Buffer }) {
  const reenable = values.enabled === true ? { disabled_at: null, disabled_reason: null, consecutive_failures: 0, failing_since: null } : {}
  await withWebhookTables(trx).updateTable('webhook_endpoints').set({ ...values, ...reenable, updated_at: sql`now()` }).where('id', '=', id).execute()
}

export async function deleteEndpoint(trx: Trx, id: number) {
  await withWebhookTables(trx).deleteFrom('webhook_endpoints').where('id', '=', id).execute()
}

const DELIVERY_COLUMNS = [
  'id', 'event_id', 'event_type', 'message_id', 'status', 'attempts', 'redeliveries', 'response_status', 'duration_ms', 'error', 'created_at', 'last_attempt_at', 'delivered_at',
] as const

export async function listDeliveries(db: Db, endpointId: number, page: number, perPage: number) {
  const w = withWebhookTables(db)
  const [rows, count] = await Promise.all([
    w.selectFrom('webhook_deliveries').select(DELIVERY_COLUMNS).where('endpoint_id', '=', endpointId).orderBy('id', 'desc').limit(perPage).offset((page - 1) * perPage).execute(),
    w.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).where('endpoint_id', '=', endpointId).executeTakeFirstOrThrow(),
  ])
  return { rows, total: Number(count.n) }
}

/** Marks a delivery for another round (pending, a fresh retry budget); undefined: no such delivery. */
export async function requestRedelivery(trx: Trx, endpointId: number, deliveryId: number) {
  return withWebhookTables(trx)
    .updateTable('webhook_deliveries')
    .set((eb) => ({ status: 'pending', redeliveries: eb('redeliveries', '+', 1), error: null }))
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', endpointId)
    .returning(DELIVERY_COLUMNS)
    .executeTakeFirst()
}
