// Two lookups every group-owner request makes, as PL/pgSQL functions whose plans each server
// connection keeps (see migration 0018 for why: the API sends unnamed statements, which PostgreSQL
// plans again every time, so that PgBouncer's transaction mode works).
//
// - fgpat_group_reaching(group): the tokens able to reach a group, from the group's id alone. The
//   group's namespaces (itself and everything below it: direct; the groups above it: inherited)
//   were two subqueries in every page, summary and CSV query; planning them with the rest cost
//   group 42's page ~0.1 ms idle and ~0.3 ms under load at 1M tokens (bench/README.md).
// - fgpat_namespace_with_level(namespace, user, today): the namespace and the user's highest live
//   membership level on it or above it. Every group route asks it first (is the caller an owner?):
//   0.05 ms to run, 0.12 ms idle and 0.3 ms under load to plan.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fgpat_group_reaching(group_ns bigint)
    returns table (token_id bigint, direct boolean) language plpgsql stable rows 100 as $$
    declare
      direct_ns bigint[] := array(select n.id from namespaces n where n.traversal_ids @> array[group_ns]);
      inherited_ns bigint[] := coalesce((select a.traversal_ids[1:cardinality(a.traversal_ids) - 1] from namespaces a where a.id = group_ns), '{}');
    begin
      return query select r.token_id, r.direct from fgpat_tokens_reaching(direct_ns, inherited_ns) r;
    end $$;
  `.execute(db)
  // Output columns are named like the table's: every column reference inside is qualified.
  await sql`
    create function fgpat_namespace_with_level(ns_id bigint, member_id bigint, today date)
    returns table (id bigint, kind text, parent_id bigint, full_path text, traversal_ids bigint[], level integer)
    language plpgsql stable as $$
    begin
      return query
      select n.id, n.kind, n.parent_id, n.full_path, n.traversal_ids,
             (select max(m.access_level) from memberships m
               where m.user_id = member_id and m.namespace_id = any(n.traversal_ids)
                 and (m.expires_at is null or m.expires_at > today))::integer
      from namespaces n where n.id = ns_id;
    end $$;
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function fgpat_namespace_with_level(bigint, bigint, date)`.execute(db)
  await sql`drop function fgpat_group_reaching(bigint)`.execute(db)
}
