// Service accounts (issue 16, item 4): users of kind service_account, owned by a top-level group
// whose owners manage them and their tokens. A service account either comes from the directory
// (any id the identity system gives it) or is created by a group owner through
// POST /groups/:id/service_accounts; those get ids from service_account_user_ids, a range the
// directory may not write (from 9,000,000,000,000,000 up to JavaScript's largest safe integer).
//   users.kind                      'human' (default) | 'service_account'
//   users.service_account_group_id  the owning top-level group; set exactly for service accounts
// No foreign key on the group: a bulk directory load writes users before the namespaces they may
// name, and the directory service checks the group itself (a 400, not a constraint error).
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table users
      add column kind text not null default 'human' check (kind in ('human', 'service_account')),
      add column service_account_group_id bigint,
      add constraint users_service_account_group check ((kind = 'service_account') = (service_account_group_id is not null));

    -- A group's service accounts (its list, and the mails to its owners).
    create index users_service_account_group on users (service_account_group_id, id) where service_account_group_id is not null;

    create sequence service_account_user_ids as bigint start with 9000000000000000 minvalue 9000000000000000 maxvalue 9007199254740991;
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
