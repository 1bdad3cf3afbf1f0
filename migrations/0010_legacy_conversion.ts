// Legacy → fine-grained conversion (issue 15). POST /personal_access_tokens/:id/convert issues a
// fine-grained successor that points at the legacy token it replaces (converted_from_id); the legacy
// token keeps working until conversion_grace_ends_at, when the sweep revokes it (revoke_reason
// 'converted'). conversion_reminder_at makes the reminder mail a few days before exactly-once, as
// the expiry_notice_* columns do for expiry notices.
//   instance_settings.legacy_conversion_grace_days   0-90, default 14: the longest grace (and the
//                                                    one given when the caller asks for none)
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table personal_access_tokens
      add column converted_from_id bigint references personal_access_tokens (id),
      add column conversion_grace_ends_at timestamptz,
      add column conversion_reminder_at timestamptz,
      add constraint pat_conversion_grace_only_legacy check (conversion_grace_ends_at is null or kind = 'legacy'),
      add constraint pat_converted_from_only_fine_grained check (converted_from_id is null or kind = 'fine_grained');

    -- One successor per legacy token: a second conversion (even a concurrent one) cannot slip in.
    create unique index pat_converted_from on personal_access_tokens (converted_from_id) where converted_from_id is not null;
    -- The sweep walks live tokens under conversion by the end of their grace (reminder and revocation).
    create index pat_conversion_grace on personal_access_tokens (conversion_grace_ends_at, id)
      where revoked_at is null and conversion_grace_ends_at is not null;

    alter table instance_settings add column legacy_conversion_grace_days integer not null default 14
      check (legacy_conversion_grace_days between 0 and 90);
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
