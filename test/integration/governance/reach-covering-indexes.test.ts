// A group's reach reads three indexes for ids only (migration 0023): the scopes on its namespaces
// (token ids), the members of those namespaces (user ids) and the members' broad tokens (their ids).
// With the wanted column included PostgreSQL answers each from the index alone, instead of a heap
// fetch per match (a random page read per scope row at 1,000,000 tokens: bench/README.md).
import { Migrator, sql } from 'kysely'
import t from 'tap'
import { migrations } from '../../../migrations/index.js'
import type { Db } from '../../../src/db/index.js'
import { migrateToLatest } from '../../../src/db/migrate.js'
import { build, emptyDatabase } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, BOB, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'

// The lookups as fgpat_tokens_reaching (0018) and fgpat_legacy_reaching (0020) make them.
const LOOKUPS = {
  pat_scopes_namespace: (ns: number[]) => sql`select s.token_id from personal_access_token_scopes s where s.namespace_id = any(${ns}::bigint[])`,
  memberships_namespace: (ns: number[]) => sql`select m.user_id from memberships m where m.namespace_id = any(${ns}::bigint[])`,
  pat_broad_by_user: (users: number[]) => sql`select t.id from personal_access_tokens t where t.user_id = any(${users}::bigint[]) and (t.kind = 'legacy' or t.all_memberships)`,
}

/** The plan of each lookup, with the scans that cannot be index-only switched off (this test's tables are tiny). */
async function plans(db: Db): Promise<Record<string, string>> {
  return db.transaction().execute(async (trx) => {
    await sql`set local enable_seqscan = off`.execute(trx)
    await sql`set local enable_bitmapscan = off`.execute(trx)
    const out: Record<string, string> = {}
    for (const [index, lookup] of Object.entries(LOOKUPS)) {
      const ids = index === 'pat_broad_by_user' ? [ALICE, BOB] : [ACME, PLATFORM, API_PROJECT]
      const { rows } = await sql<{ 'QUERY PLAN': string }>`explain ${lookup(ids)}`.execute(trx)
      out[index] = rows.map((r) => r['QUERY PLAN']).join('\n')
    }
    return out
  })
}

t.test('the reach\'s three lookups are answered from their indexes alone', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await createToken(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  await createToken(ctx, BOB, { granular_scopes: undefined, scopes: ['read_api'] })
  // What autovacuum does in a running database: the visibility map says these pages are settled.
  for (const table of ['personal_access_token_scopes', 'memberships', 'personal_access_tokens']) await sql`vacuum analyze ${sql.table(table)}`.execute(ctx.app.db)
  const found = await plans(ctx.app.db)
  for (const index of Object.keys(LOOKUPS)) t.match(found[index], new RegExp(`Index Only Scan using ${index} `), `${index}: an index-only scan`)
})

t.test('0023 down restores the indexes as they were, and up replaces them again', async (t) => {
  const db = await emptyDatabase(t, 't_covering_indexes')
  const definitions = async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where indexname in ('pat_scopes_namespace', 'memberships_namespace', 'pat_broad_by_user', 'pat_scopes_namespace_next', 'memberships_namespace_next', 'pat_broad_by_user_next') order by indexname`.execute(db)
    return Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef.replace(/^.* USING /, '')]))
  }
  await migrateToLatest(db)
  t.same(await definitions(), {
    memberships_namespace: 'btree (namespace_id) INCLUDE (user_id)',
    pat_broad_by_user: "btree (user_id) INCLUDE (id) WHERE ((kind = 'legacy'::text) OR all_memberships)",
    pat_scopes_namespace: 'btree (namespace_id) INCLUDE (token_id) WHERE (namespace_id IS NOT NULL)',
  }, 'up: the same keys and predicates, the ids included')
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  t.notOk((await migrator.migrateTo('0022_token_family_default')).error)
  t.same(await definitions(), {
    memberships_namespace: 'btree (namespace_id)',
    pat_broad_by_user: "btree (user_id) WHERE ((kind = 'legacy'::text) OR all_memberships)",
    pat_scopes_namespace: 'btree (namespace_id) WHERE (namespace_id IS NOT NULL)',
  }, 'down: as before, under the same names')
  t.same((await migrateToLatest(db))[0], '0023_reach_covering_indexes', 'and up again (with the migrations after it)')
})
