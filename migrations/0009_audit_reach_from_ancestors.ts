// A token that reaches a group also reaches every group below it (a selected scope on acme covers
// acme/platform; a membership in acme is inherited down), so the subgroups' audit logs must show
// its events too, as their credential inventories list it. Frozen in time: never import
// application code from a migration.
//
// Tagging every group below a reached group when an event is written would cost one row per
// subgroup per event (thousands under a large top-level group). Instead each tag says whether the
// token reached that group itself (`reached`: a selected scope on it, or a legacy / all_memberships
// token of a member of it) or only something below it (the groups above a reached namespace, and
// the groups above the event's namespace, as migration 0007 tagged them). A group's log then reads
// its own tags and the `reached` tags of the groups above it: a token scoped on acme shows in
// acme/platform's log, a token scoped on the sibling acme/other does not (its tag on acme is not
// `reached`). The partial index keeps each of those ancestor ranges one index walk.
//
// fgpat_token_reach(token) replaces fgpat_token_groups (0007) for the trigger and the API; the old
// function stays, unused, so that instances of the previous release keep working during a rolling
// deploy.
//
// Existing tags: marked `reached` where the token reaches that group itself today. Only tags that
// already exist are marked (an event is never tagged for a group it did not concern when written).
import { type Kysely, sql } from 'kysely'

// The token an event is about, or null (then fgpat_token_reach finds nothing). A CASE, not a WHERE
// beside the call: nothing guarantees the WHERE runs before the cast of a non-numeric target id.
const tokenOf = (e: string) => `case when ${e}.target_type = 'personal_access_token' and ${e}.target_id ~ '^[0-9]{1,18}$'
  and ${e}.action not like 'token.group\\_access\\_%' then ${e}.target_id::bigint end`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
    alter table audit_event_groups add column reached boolean not null default false;
    create index audit_event_groups_reached on audit_event_groups (group_id, event_id) where reached;

    -- The groups a token reaches now, and every group above them; reached: the token reaches that
    -- group itself (so every group below it too), not only something inside it.
    create function fgpat_token_reach(token bigint) returns table (group_id bigint, reached boolean) language sql stable as $$
      select a.id, bool_or(a.id = r.id)
      from (
        select s.namespace_id as id from personal_access_token_scopes s where s.token_id = token and s.namespace_id is not null
        union
        select m.namespace_id from personal_access_tokens t join memberships m on m.user_id = t.user_id
        where t.id = token and (t.kind = 'legacy'
          or exists (select 1 from personal_access_token_scopes b where b.token_id = t.id and b.access = 'all_memberships'))
      ) r
      join namespaces n on n.id = r.id
      cross join unnest(n.traversal_ids) as a(id)
      join namespaces g on g.id = a.id and g.kind = 'group'
      group by a.id
    $$;

    -- As in 0007 (a token event: the token's reach, except a group's removal or restoring of its
    -- access; every event: its namespace and the groups above), now with the reached flag.
    create or replace function fgpat_tag_audit_events() returns trigger language plpgsql as $$
    begin
      insert into audit_event_groups (event_id, group_id, reached)
      select e.id, a.group_id, bool_or(a.reached)
      from new_rows e
      cross join lateral (
        select r.group_id, r.reached from fgpat_token_reach(${tokenOf('e')}) r
        union all
        select g.id, false from namespaces n cross join unnest(n.traversal_ids) as t(id) join namespaces g on g.id = t.id and g.kind = 'group'
        where n.id = e.namespace_id
      ) a
      group by e.id, a.group_id
      on conflict (group_id, event_id) do update set reached = audit_event_groups.reached or excluded.reached;
      return null;
    end $$;

    update audit_event_groups ag set reached = true
    from audit_events e cross join lateral fgpat_token_reach(${tokenOf('e')}) r
    where r.reached and ag.event_id = e.id and ag.group_id = r.group_id;
  `).execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
