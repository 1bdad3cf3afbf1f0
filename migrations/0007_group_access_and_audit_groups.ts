// Group owners remove a token's access to their group; group audit logs see the token events that
// concern the group. Frozen in time: never import application code from a migration.
//
// 1. group_access_removals: one row per (token, group) whose owners removed that token's access to
//    the group and everything below it. A decision reads the removals as part of the token's
//    cached entry (src/cache/loaders.ts), so a removal must move the token's version: a statement
//    trigger bumps personal_access_tokens.version for every token whose removals changed, and
//    migration 0006's trigger on that table then sends the NOTIFY. Whatever path writes a removal
//    (the API, a manual fix, a bulk load), every instance hears of it through PostgreSQL; the API
//    also writes the new entry through to Redis and publishes it (PolicyCache.refresh).
// 2. audit_event_groups: which groups each audit event concerns, recorded when the event is
//    written, by a statement trigger on audit_events (so the worker's bulk inserts and any future
//    writer are covered without knowing about it):
//    - the event's namespace_id and every group above it (a policy change, a group owner's action);
//    - for an event about a token (target_type personal_access_token), every group the token
//      reaches at that moment, and every group above those: the same reach as the group
//      credential inventory (selected scopes on the group or below it; legacy and all_memberships
//      tokens wherever their owner is a member). fgpat_token_groups() is that reach. Except a
//      group's removal (or restoring) of a token's access: that concerns the acting group (and
//      those above it) only, not every group the token reaches, as on the token's inventory rows.
//    The group log reads (group_id, event_id) backwards: one index range per page however large
//    the log is, where an array column would need a GIN bitmap of the group's whole history and a
//    sort. Existing events are tagged here once: their namespace_id exactly, token events by the
//    token's reach today (it was not recorded before).
import { type Kysely, sql } from 'kysely'

/** Group tags for the events of `events` (a relation with the audit_events columns). */
const tagsOf = (events: string) => `
  select distinct e.id as event_id, g.id as group_id
  from ${events} e
  cross join lateral unnest(
    case when e.target_type = 'personal_access_token' and e.target_id ~ '^[0-9]{1,18}$' and e.action not like 'token.group\\_access\\_%'
         then fgpat_token_groups(e.target_id::bigint) else '{}'::bigint[] end
    || coalesce((select n.traversal_ids from namespaces n where n.id = e.namespace_id), '{}'::bigint[])
  ) as a(id)
  join namespaces g on g.id = a.id and g.kind = 'group'`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
    create table group_access_removals (
      token_id bigint not null references personal_access_tokens (id) on delete cascade,
      group_id bigint not null references namespaces (id) on delete cascade,
      -- the actor, as revoked_by: user:<id>, token:<id>, service:<name>
      removed_by text not null,
      -- the person behind it (a user, or a token's owner); null for a service
      removed_by_user_id bigint references users (id) on delete set null,
      reason text,
      removed_at timestamptz not null default now(),
      primary key (token_id, group_id)
    );
    create index group_access_removals_group on group_access_removals (group_id);

    create function fgpat_bump_removed_tokens() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update personal_access_tokens t set version = t.version + 1, updated_at = now() where t.id in (select token_id from new_rows);
      elsif tg_op = 'UPDATE' then
        update personal_access_tokens t set version = t.version + 1, updated_at = now()
        where t.id in (select token_id from new_rows union select token_id from old_rows);
      else
        update personal_access_tokens t set version = t.version + 1, updated_at = now() where t.id in (select token_id from old_rows);
      end if;
      return null;
    end $$;
    create trigger group_access_removals_insert after insert on group_access_removals
      referencing new table as new_rows for each statement execute function fgpat_bump_removed_tokens();
    create trigger group_access_removals_update after update on group_access_removals
      referencing old table as old_rows new table as new_rows for each statement execute function fgpat_bump_removed_tokens();
    create trigger group_access_removals_delete after delete on group_access_removals
      referencing old table as old_rows for each statement execute function fgpat_bump_removed_tokens();

    -- The groups (and every group above them) a token reaches, as the group inventory sees reach.
    create function fgpat_token_groups(token bigint) returns bigint[] language sql stable as $$
      select coalesce(array_agg(distinct a.id), '{}')
      from (
        select s.namespace_id as id from personal_access_token_scopes s where s.token_id = token and s.namespace_id is not null
        union
        select m.namespace_id from personal_access_tokens t join memberships m on m.user_id = t.user_id
        where t.id = token and (t.kind = 'legacy'
          or exists (select 1 from personal_access_token_scopes b where b.token_id = t.id and b.access = 'all_memberships'))
      ) reached
      join namespaces n on n.id = reached.id
      cross join unnest(n.traversal_ids) as a(id)
    $$;

    create table audit_event_groups (
      group_id bigint not null,
      event_id bigint not null references audit_events (id) on delete cascade,
      primary key (group_id, event_id)
    );
    create index audit_event_groups_event on audit_event_groups (event_id);

    create function fgpat_tag_audit_events() returns trigger language plpgsql as $$
    begin
      insert into audit_event_groups (event_id, group_id)
      ${tagsOf('new_rows')}
      on conflict do nothing;
      return null;
    end $$;
    create trigger audit_events_tag_groups after insert on audit_events
      referencing new table as new_rows for each statement execute function fgpat_tag_audit_events();

    insert into audit_event_groups (event_id, group_id)
    ${tagsOf('audit_events')}
    on conflict do nothing;
  `).execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
