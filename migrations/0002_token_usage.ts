// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table token_usage_daily (
      token_id bigint not null references personal_access_tokens (id) on delete cascade,
      day date not null,
      permission text not null,
      namespace_id bigint not null default 0,
      allowed bigint not null default 0,
      denied bigint not null default 0,
      primary key (token_id, day, permission, namespace_id)
    );
    create index token_usage_daily_day on token_usage_daily (day);
    -- The hot path resolves "group/project" paths case-insensitively.
    create index namespaces_full_path_lookup on namespaces (lower(full_path)) include (id);
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
