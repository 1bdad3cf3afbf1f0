// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row per notification actually handed to the mail server (or deliberately skipped).
    -- BullMQ's jobId de-duplicates only while a finished job is still kept in Redis; this key
    -- makes a re-enqueued job a no-op forever. No foreign key to audit_events on purpose: pruning
    -- old audit rows must not be blocked by, nor cascade into, the delivery record.
    create table notification_deliveries (
      event_id bigint not null,
      kind text not null,
      status text not null check (status in ('sent', 'skipped')),
      recipient text,
      message_id text,
      detail text,
      delivered_at timestamptz not null default now(),
      primary key (event_id, kind)
    );

    -- The expiry sweep walks active tokens in (expires_at, id) order from "a week ago" to
    -- "60 days ahead"; this index makes that a range scan with a keyset cursor.
    create index pat_expiry_sweep on personal_access_tokens (expires_at, id) where revoked_at is null;
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
