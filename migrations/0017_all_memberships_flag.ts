// A group's inventory counts the broad tokens of its members (legacy tokens and fine-grained ones
// with an all_memberships scope). Finding those meant reading every member's tokens and probing
// each for such a scope: for group 42 at a million tokens, 205 rows and 205 index probes per
// request, a third of the group list's execution (bench/README.md, inventory). The flag lives on the
// token row, kept by the trigger that already keeps `permissions` from the scopes (migration
// 0005), and a partial index holds only the broad tokens by owner.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table personal_access_tokens add column all_memberships boolean not null default false;
    update personal_access_tokens p set all_memberships = true
    where exists (select 1 from personal_access_token_scopes s where s.token_id = p.id and s.access = 'all_memberships');

    create or replace function pat_permissions_refresh() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        update personal_access_tokens set permissions = '{}', all_memberships = false where permissions <> '{}' or all_memberships;
        return null;
      end if;
      with touched as (
        select token_id from changed_scopes
      )
      update personal_access_tokens p
      set permissions = coalesce((select array_agg(distinct x collate "C" order by x collate "C")
                                  from personal_access_token_scopes s, unnest(s.permissions) x where s.token_id = p.id), '{}'),
          all_memberships = exists (select 1 from personal_access_token_scopes s where s.token_id = p.id and s.access = 'all_memberships')
      where p.id in (select token_id from touched);
      return null;
    end $$;

    -- The predicate the inventory writes for "broad" (src/modules/inventory/repository.ts), exactly.
    create index pat_broad_by_user on personal_access_tokens (user_id) where kind = 'legacy' or all_memberships;
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index pat_broad_by_user;
    create or replace function pat_permissions_refresh() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        update personal_access_tokens set permissions = '{}' where permissions <> '{}';
        return null;
      end if;
      with touched as (
        select token_id from changed_scopes
      )
      update personal_access_tokens p
      set permissions = coalesce((select array_agg(distinct x collate "C" order by x collate "C")
                                  from personal_access_token_scopes s, unnest(s.permissions) x where s.token_id = p.id), '{}')
      where p.id in (select token_id from touched);
      return null;
    end $$;
    alter table personal_access_tokens drop column all_memberships;
  `.execute(db)
}
