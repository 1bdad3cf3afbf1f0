// Approval requests mailed to a group's owners as a daily digest (issue 16, part 1).
//
// 1. group_token_policies.approval_notifications: each_request (one mail to the owners per
//    request, as before) or daily_digest (no per-request mail; one digest per owner a day).
// 2. approval_digests: one row per digest a group got. The daily run inserts (group_id,
//    digest_date) in the same transaction as the digest's audit events (which the outbox turns
//    into mails, exactly once per event): the unique key makes a second worker, or a rerun after a
//    crash, a no-op for that day. A digest sent because the group switched back to each_request
//    has no digest_date (NULLs never collide), so it cannot take the place of the day's digest.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table group_token_policies add column approval_notifications text not null default 'each_request'
      check (approval_notifications in ('each_request', 'daily_digest'));

    create table approval_digests (
      id bigserial primary key,
      group_id bigint not null references namespaces (id) on delete cascade,
      -- the UTC day of a daily digest; null: the last digest sent when the group switched back
      digest_date date,
      -- requests listed (0: nothing was pending, no mail went out)
      pending_count integer not null default 0,
      sent_at timestamptz not null default now(),
      unique (group_id, digest_date)
    );
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
