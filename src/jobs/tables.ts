// The jobs' own table. It lives here rather than in db/types.ts (owned by the data-model work in
// flight) and is added to the Database type with Kysely's type-only `withTables`.
import type { ColumnType, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/types.js'

export type DeliveryStatus = 'sent' | 'skipped'

export interface NotificationDeliveriesTable {
  event_id: number
  kind: string
  status: DeliveryStatus
  recipient: string | null
  message_id: string | null
  detail: string | null
  delivered_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export type JobsDatabase = Database & { notification_deliveries: NotificationDeliveriesTable }

// Transaction first: it is also a Kysely, and must keep its (single-connection) type.
export function withJobTables(db: Transaction<Database>): Transaction<JobsDatabase>
export function withJobTables(db: Kysely<Database>): Kysely<JobsDatabase>
export function withJobTables(db: Kysely<Database> | Transaction<Database>): Kysely<JobsDatabase> | Transaction<JobsDatabase> {
  return db.withTables<{ notification_deliveries: NotificationDeliveriesTable }>()
}
