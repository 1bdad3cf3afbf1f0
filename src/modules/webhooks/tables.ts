// The webhook tables (migration 0012), added to the Database type with Kysely's type-only
// `withTables` (as src/jobs/tables.ts does) so db/types.ts stays untouched by this feature.
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/types.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface WebhookEndpointsTable {
  id: Generated<number>
  group_id: number | null
  url: string
  description: ColumnType<string, string | undefined, string>
  events: string[]
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  secret_box: Buffer
  created_by: string
  created_at: Timestamp
  updated_at: Timestamp
  disabled_at: NullableTimestamp
  disabled_reason: string | null
  consecutive_failures: ColumnType<number, number | undefined, number>
  failing_since: NullableTimestamp
}

export type DeliveryState = 'pending' | 'delivered' | 'failed'

export interface WebhookDeliveriesTable {
  id: Generated<number>
  endpoint_id: number
  event_id: number
  event_type: string
  message_id: string
  status: ColumnType<DeliveryState, DeliveryState | undefined, DeliveryState>
  attempts: ColumnType<number, number | undefined, number>
  redeliveries: ColumnType<number, number | undefined, number>
  payload: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>
  response_status: number | null
  duration_ms: number | null
  error: string | null
  created_at: Timestamp
  last_attempt_at: NullableTimestamp
  delivered_at: NullableTimestamp
}

export type WebhookTables = {
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
}
export type WebhookDatabase = Database & WebhookTables

export function withWebhookTables(db: Transaction<Database>): Transaction<WebhookDatabase>
export function withWebhookTables(db: Kysely<Database>): Kysely<WebhookDatabase>
export function withWebhookTables(db: Kysely<Database> | Transaction<Database>): Kysely<WebhookDatabase> | Transaction<WebhookDatabase> {
  return db.withTables<WebhookTables>()
}
