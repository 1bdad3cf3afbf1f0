// Approval of tokens that reach a group (issue 16, GitHub's fine-grained PAT requests).
//
// 1. group_token_policies.require_approval: a top-level group's owners approve each token that
//    gains reach into the group (creation, duplication, an edit that widens it to the group).
// 2. token_approval_requests: one row per (token, top-level group). While its state is not
//    'approved' the token is denied there (approval_pending). A decision reads the unapproved
//    groups as part of the token's cached entry (src/cache/loaders.ts), exactly like
//    group_access_removals (migration 0007): so a change to a request must move the token's
//    version, and the same statement triggers (fgpat_bump_removed_tokens) do it, after which
//    migration 0006's trigger sends the NOTIFY. Rotation moves the rows to the successor (the
//    approval follows the rotation family), which bumps both tokens.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table group_token_policies add column require_approval boolean not null default false;

    create table token_approval_requests (
      id bigserial primary key,
      token_id bigint not null references personal_access_tokens (id) on delete cascade,
      group_id bigint not null references namespaces (id) on delete cascade,
      state text not null default 'pending' check (state in ('pending', 'approved', 'denied', 'expired')),
      -- the requester's own words (optional)
      reason text,
      -- the actor, as revoked_by: user:<id>, token:<id>, service:<name>
      decided_by text,
      decided_at timestamptz,
      comment text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      unique (token_id, group_id)
    );
    -- The owners' list: one group's requests by state, newest first.
    create index token_approval_requests_group on token_approval_requests (group_id, state, id desc);
    -- The sweep: pending requests by the instant they lapse.
    create index token_approval_requests_pending on token_approval_requests (expires_at) where state = 'pending';

    create trigger token_approval_requests_insert after insert on token_approval_requests
      referencing new table as new_rows for each statement execute function fgpat_bump_removed_tokens();
    create trigger token_approval_requests_update after update on token_approval_requests
      referencing old table as old_rows new table as new_rows for each statement execute function fgpat_bump_removed_tokens();
    create trigger token_approval_requests_delete after delete on token_approval_requests
      referencing old table as old_rows for each statement execute function fgpat_bump_removed_tokens();
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
