// Cache invalidation through PostgreSQL (src/cache/pg-listener.ts): every change to a row a decision
// depends on sends NOTIFY fgpat_invalidate '<cache key>|<version>' from a trigger, in the writing
// transaction. PostgreSQL delivers it to every listening API instance if and only if the
// transaction commits, whatever path wrote the row (API, worker, a bulk load, a manual fix), and
// whether or not Redis is reachable. Frozen in time: never import application code from a migration.
//
// Keys and versions are those of the hot path's cache (src/cache/policy-cache.ts keyString):
//   tok:<hex digest>  personal_access_tokens.version  (inserts too: clears a cached "unknown token")
//   acc:<user id>     users.version (membership changes bump it)
//   ns:<id>           namespaces.version
//   pol:group:<id>    group_token_policies.version
//   pol:instance      instance_settings.version
// Updates notify only when the version moved (the usage flush rewrites last_used_at every few
// seconds without changing anything a decision reads). A deleted row notifies its version + 1, so
// caches drop what they hold and find it gone.
import { type Kysely, sql } from 'kysely'

const TABLES = [
  { table: 'personal_access_tokens', key: `'tok:' || encode(r.token_digest, 'hex')` },
  { table: 'users', key: `'acc:' || r.id` },
  { table: 'namespaces', key: `'ns:' || r.id` },
  { table: 'group_token_policies', key: `'pol:group:' || r.namespace_id` },
  { table: 'instance_settings', key: `'pol:instance'` },
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const { table, key } of TABLES) {
    const fn = sql.raw(`fgpat_notify_${table}`)
    const tbl = sql.raw(table)
    const keyExpr = sql.raw(key)
    await sql`
      create function ${fn}() returns trigger language plpgsql as $$
      declare r ${tbl};
      begin
        if tg_op = 'DELETE' then
          r := old;
          perform pg_notify('fgpat_invalidate', ${keyExpr} || '|' || (r.version + 1));
        else
          r := new;
          perform pg_notify('fgpat_invalidate', ${keyExpr} || '|' || r.version);
        end if;
        return null;
      end $$;
      create trigger ${sql.raw(`${table}_notify_insert`)} after insert or delete on ${tbl}
        for each row execute function ${fn}();
      create trigger ${sql.raw(`${table}_notify_version`)} after update on ${tbl}
        for each row when (new.version is distinct from old.version) execute function ${fn}();
    `.execute(db)
  }
}
