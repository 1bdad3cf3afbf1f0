// Which tokens reach a set of namespaces, as one PL/pgSQL function: a selected scope on one of them,
// or a broad token (legacy, or with an all_memberships scope: the flag of migration 0017) of a member
// of one. `direct`: through one of `direct_ns` rather than only through `inherited_ns` (a group's
// inventory passes the group and everything below it as direct, the groups above it as inherited).
//
// Why a PL/pgSQL function and not the same SQL inline in each query: PostgreSQL plans every
// statement the API sends (unnamed statements, so that PgBouncer's transaction mode works), and the
// inline reach (a union of two branches over the group's namespaces, plus a direct-reach probe per
// row) took 1.2-2.8 ms to plan at 1M tokens, more than it took to run. PL/pgSQL keeps its statement's
// plan for the life of the backend (a generic plan after five calls), so a group's list, summary and
// legacy report plan a function scan instead. At 1M tokens, group 42's page query went from 1.6 ms
// planning + 1.4 ms execution to 0.3 + 0.6 ms (bench/README.md, inventory). A SQL-language function
// would be inlined into the calling query and planned with it every time, which is what this avoids.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fgpat_tokens_reaching(direct_ns bigint[], inherited_ns bigint[])
    returns table (token_id bigint, direct boolean) language plpgsql stable rows 100 as $$
    begin
      return query
      select r.token_id, bool_or(r.direct)
      from (
        select s.token_id, s.namespace_id = any(direct_ns) as direct
        from personal_access_token_scopes s
        where s.namespace_id = any(direct_ns || inherited_ns)
        union all
        select t.id, m.namespace_id = any(direct_ns)
        from memberships m join personal_access_tokens t on t.user_id = m.user_id and (t.kind = 'legacy' or t.all_memberships)
        where m.namespace_id = any(direct_ns || inherited_ns)
      ) r
      group by r.token_id;
    end $$;
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function fgpat_tokens_reaching(bigint[], bigint[])`.execute(db)
}
