// What the API shows of tokens besides their own rows, as one PL/pgSQL function: the scopes with
// their namespaces' kinds, the group access removals a viewer may see, and the conversion links
// (the successors of legacy tokens; the grace end of the tokens successors replace). Each part is a
// JSON array and is skipped when its ids are empty.
//
// Every token list and inventory page asks this. As one statement built in the application it was
// planned again on every request (0.4 ms idle, 0.8 ms under load at 1M tokens: two to three times
// its execution), because the API sends unnamed statements for PgBouncer's transaction mode.
// PL/pgSQL keeps the plan for the life of the backend (see migration 0018). This function is the
// only definition of these lookups: the single-token paths (a group's removal, a conversion's
// links) call it too, so who sees which removal is decided in one place.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fgpat_token_facts(
      scope_ids bigint[], removal_ids bigint[], view_group bigint, view_path bigint[], legacy_ids bigint[], from_ids bigint[]
    ) returns table (scopes json, removals json, successors json, replaced json) language plpgsql stable as $$
    begin
      return query select
        (select coalesce(json_agg(a order by a.id), '[]') from (
          select s.*, n.kind as namespace_kind from personal_access_token_scopes s left join namespaces n on n.id = s.namespace_id
          where s.token_id = any(scope_ids)) a),
        -- A viewing group (view_group, its traversal ids view_path) sees only the removals on its
        -- own path: its own, its ancestors' and its subgroups'. Another group's owners' decisions
        -- (its path, who removed, why) are not its business.
        (select coalesce(json_agg(a order by a.removed_at, a.group_id), '[]') from (
          select r.token_id, r.group_id, n.full_path, r.removed_by, u.username, r.removed_at, r.reason
          from group_access_removals r join namespaces n on n.id = r.group_id left join users u on u.id = r.removed_by_user_id
          where r.token_id = any(removal_ids) and (view_group is null or n.id = any(view_path) or n.traversal_ids @> array[view_group])) a),
        (select coalesce(json_agg(a), '[]') from (
          select t.id, t.converted_from_id from personal_access_tokens t where t.converted_from_id = any(legacy_ids)) a),
        (select coalesce(json_agg(a), '[]') from (
          select t.id, t.conversion_grace_ends_at from personal_access_tokens t where t.id = any(from_ids)) a);
    end $$;
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function fgpat_token_facts(bigint[], bigint[], bigint, bigint[], bigint[], bigint[])`.execute(db)
}
