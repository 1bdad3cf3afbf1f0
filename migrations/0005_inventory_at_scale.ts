// The credential inventory at a million tokens (bench/inventory.ts; bench/README.md, last section).
// Frozen in time: never import application code from a migration.
//
// 1. personal_access_tokens.permissions: the distinct permissions a token's scopes name, kept by a
//    trigger on personal_access_token_scopes (so every writer, cascades from deleted namespaces
//    included, keeps it right). The permission filter becomes a predicate on the token row itself:
//    walking pat_created it costs nothing per row, and a GIN index answers rare permissions.
//    Legacy tokens keep '{}' (their power is in `scopes`, matched through pat_scopes).
// 2. pat_expires (expires_at, id): "expiring before" filters and the expiry sorts.
// 3. pat_inventory_counts: token counts per (kind, revoked, expiry date, never used, legacy with
//    api), kept by statement triggers that only ever insert delta rows (no row is updated, so no
//    lock is shared between writers). The unfiltered summary sums a few thousand rows instead of
//    scanning every token; the worker's sweep folds the deltas together (compactInventoryCounts).
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table personal_access_tokens add column permissions text[] not null default '{}';
    update personal_access_tokens p set permissions = s.permissions
    from (select token_id, array_agg(distinct x collate "C" order by x collate "C") as permissions
          from personal_access_token_scopes, unnest(permissions) x group by token_id) s
    where s.token_id = p.id;

    create function pat_permissions_refresh() returns trigger language plpgsql as $$
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
    -- One trigger per event: a trigger with transition tables can serve only one.
    create trigger pat_permissions_on_insert after insert on personal_access_token_scopes
      referencing new table as changed_scopes for each statement execute function pat_permissions_refresh();
    create trigger pat_permissions_on_update after update on personal_access_token_scopes
      referencing new table as changed_scopes for each statement execute function pat_permissions_refresh();
    create trigger pat_permissions_on_delete after delete on personal_access_token_scopes
      referencing old table as changed_scopes for each statement execute function pat_permissions_refresh();
    create trigger pat_permissions_on_truncate after truncate on personal_access_token_scopes
      for each statement execute function pat_permissions_refresh();

    create index pat_permissions on personal_access_tokens using gin (permissions);
    -- Only legacy tokens carry scopes, so "scopes && ..." alone finds them, with the planner's own
    -- estimate for it (adding kind = 'legacy' would multiply in a selectivity twice, ~20x too low).
    alter table personal_access_tokens add constraint pat_scopes_only_legacy check (kind = 'legacy' or scopes = '{}');
    create index pat_scopes on personal_access_tokens using gin (scopes);
    -- Rare permissions get estimates of their own instead of a 0.5 % default, so the planner picks
    -- the GIN index for them and the pat_created walk for common ones.
    alter table personal_access_tokens alter column permissions set statistics 1000;

    create index pat_expires on personal_access_tokens (expires_at, id);

    create table pat_inventory_counts (
      kind text not null,
      revoked boolean not null,
      expires_on date not null, -- 'infinity': no expiry
      never_used boolean not null,
      legacy_api boolean not null,
      tokens bigint not null
    );

    create function pat_inventory_counts_apply() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        delete from pat_inventory_counts;
        return null;
      end if;
      if tg_op = 'INSERT' then
        insert into pat_inventory_counts
        select kind, revoked_at is not null, coalesce(expires_at, 'infinity'), last_used_at is null, kind = 'legacy' and 'api' = any(scopes), count(*)
        from new_tokens group by 1, 2, 3, 4, 5;
      elsif tg_op = 'DELETE' then
        insert into pat_inventory_counts
        select kind, revoked_at is not null, coalesce(expires_at, 'infinity'), last_used_at is null, kind = 'legacy' and 'api' = any(scopes), -count(*)
        from old_tokens group by 1, 2, 3, 4, 5;
      else
        -- Most updates (usage, names, notices) move no token between buckets: nothing is written.
        insert into pat_inventory_counts
        select k, r, e, n, a, sum(d) from (
          select kind k, revoked_at is not null r, coalesce(expires_at, 'infinity') e, last_used_at is null n, kind = 'legacy' and 'api' = any(scopes) a, 1 d from new_tokens
          union all
          select kind, revoked_at is not null, coalesce(expires_at, 'infinity'), last_used_at is null, kind = 'legacy' and 'api' = any(scopes), -1 from old_tokens
        ) delta group by 1, 2, 3, 4, 5 having sum(d) <> 0;
      end if;
      return null;
    end $$;
    create trigger pat_inventory_counts_on_insert after insert on personal_access_tokens
      referencing new table as new_tokens for each statement execute function pat_inventory_counts_apply();
    create trigger pat_inventory_counts_on_update after update on personal_access_tokens
      referencing old table as old_tokens new table as new_tokens for each statement execute function pat_inventory_counts_apply();
    create trigger pat_inventory_counts_on_delete after delete on personal_access_tokens
      referencing old table as old_tokens for each statement execute function pat_inventory_counts_apply();
    create trigger pat_inventory_counts_on_truncate after truncate on personal_access_tokens
      for each statement execute function pat_inventory_counts_apply();

    insert into pat_inventory_counts
    select kind, revoked_at is not null, coalesce(expires_at, 'infinity'), last_used_at is null, kind = 'legacy' and 'api' = any(scopes), count(*)
    from personal_access_tokens group by 1, 2, 3, 4, 5;
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
