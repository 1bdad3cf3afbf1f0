// The webhook reconciler (src/jobs/webhook-reconciler.ts) looks for deliveries still pending every
// few minutes; they are a handful among a delivery log that keeps growing, so a partial index.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index webhook_deliveries_pending on webhook_deliveries (id) where status = 'pending'`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index webhook_deliveries_pending`.execute(db)
}
