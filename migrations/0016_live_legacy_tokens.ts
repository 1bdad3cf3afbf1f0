// The legacy report (src/modules/inventory/legacy-report.ts) lists live legacy tokens, most
// recently used first, and counts how many were used lately. At a million tokens they are ~5%,
// scattered over the table: without this index each report read every token (a parallel
// sequential scan, 300–500 ms). Partial on what the report always asks (legacy, not revoked);
// expiry and conversion grace included so the count of recent use reads the index alone.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index pat_live_legacy_last_used on personal_access_tokens (last_used_at desc nulls last, id desc)
      include (expires_at, conversion_grace_ends_at) where kind = 'legacy' and revoked_at is null
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index pat_live_legacy_last_used`.execute(db)
}
