// Signed webhooks (issue 16): endpoints registered by instance administrators (group_id null) or
// a group's owners, and one delivery row per (endpoint, event). Frozen in time: never import
// application code from a migration.
//
// - secret_box: the signing secret sealed with AES-256-GCM under a key derived from the token
//   peppers (src/modules/webhooks/secret-box.ts). It cannot be a digest: the worker must sign
//   with it. Shown once at creation (and at rotation), never read back through the API.
// - webhook_deliveries: unique (endpoint_id, event_id), written in the outbox transaction that
//   marks the event dispatched, so an event reaches each matching endpoint exactly once (its
//   message_id is the webhook-id header every attempt and redelivery repeats).
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id bigserial primary key,
      group_id bigint references namespaces (id) on delete cascade,
      url text not null,
      description text not null default '',
      events text[] not null,
      enabled boolean not null default true,
      secret_box bytea not null,
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      disabled_at timestamptz,
      disabled_reason text,
      -- consecutive failed deliveries, and when the first of them failed (automatic disabling)
      consecutive_failures integer not null default 0,
      failing_since timestamptz
    );
    create index webhook_endpoints_group on webhook_endpoints (group_id) where enabled;

    create table webhook_deliveries (
      id bigserial primary key,
      endpoint_id bigint not null references webhook_endpoints (id) on delete cascade,
      event_id bigint not null,
      event_type text not null,
      message_id text not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      redeliveries integer not null default 0,
      payload jsonb,
      response_status integer,
      duration_ms integer,
      error text,
      created_at timestamptz not null default now(),
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      unique (endpoint_id, event_id)
    );
    create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, id desc);
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
