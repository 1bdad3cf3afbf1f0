// Cache invalidation through PostgreSQL (src/cache/pg-listener.ts): every change to a row a decision
// depends on sends NOTIFY fgpat_invalidate '<cache key>|<version>,…' from a trigger, in the writing
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
// Updates notify only rows whose version moved (the usage flush rewrites last_used_at every few
// seconds without changing anything a decision reads). A deleted row notifies its version + 1, so
// caches drop what they hold and find it gone.
//
// Statement triggers with transition tables, each notification carrying up to 80 keys (payloads
// stay under PostgreSQL's 8,000 bytes): a bulk load of 100,000 rows sends ~1,300 notifications
// instead of 100,000, which every listening instance would otherwise parse one by one.
import { type Kysely, sql } from 'kysely'

const TABLES = [
  { table: 'personal_access_tokens', key: `'tok:' || encode(r.token_digest, 'hex')`, id: 'id' },
  { table: 'users', key: `'acc:' || r.id`, id: 'id' },
  { table: 'namespaces', key: `'ns:' || r.id`, id: 'id' },
  { table: 'group_token_policies', key: `'pol:group:' || r.namespace_id`, id: 'namespace_id' },
  { table: 'instance_settings', key: `'pol:instance'`, id: 'id' },
]

// Entries of `rows` as "key|version", 80 to a notification.
const notifyEach = (entries: string) => `
  for payload in
    select string_agg(entry, ',') from (select entry, (row_number() over () - 1) / 80 as chunk from (${entries}) e) c group by chunk
  loop
    perform pg_notify('fgpat_invalidate', payload);
  end loop;`

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const { table, key, id } of TABLES) {
    const fn = `fgpat_notify_${table}`
    // Each branch names only the transition tables its trigger has (plpgsql plans a statement when
    // it first runs it, so the others are never looked up).
    await sql.raw(`
      create function ${fn}() returns trigger language plpgsql
      -- Transition tables have no statistics: the planner would pair old and new rows of a large
      -- update with a nested loop (quadratic: minutes for 50,000 rows); a hash join is linear.
      set enable_nestloop = off as $$
      declare payload text;
      begin
        if tg_op = 'INSERT' then
          ${notifyEach(`select ${key} || '|' || r.version as entry from new_rows r`)}
        elsif tg_op = 'UPDATE' then
          ${notifyEach(`select ${key} || '|' || r.version as entry from new_rows r join old_rows o on o.${id} = r.${id} where r.version is distinct from o.version`)}
        else
          ${notifyEach(`select ${key} || '|' || (r.version + 1) as entry from old_rows r`)}
        end if;
        return null;
      end $$;
      create trigger ${table}_notify_insert after insert on ${table} referencing new table as new_rows for each statement execute function ${fn}();
      create trigger ${table}_notify_update after update on ${table} referencing old table as old_rows new table as new_rows for each statement execute function ${fn}();
      create trigger ${table}_notify_delete after delete on ${table} referencing old table as old_rows for each statement execute function ${fn}();
    `).execute(db)
  }
}
