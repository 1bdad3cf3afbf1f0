// Instances flush usage on their own timers, and the same busy tokens are in every instance's
// flush. Each flush locks its rows (the day's counts, the tokens' last use) as it writes them: in
// each instance's own order (first use), two concurrent flushes deadlocked, PostgreSQL held both
// for deadlock_timeout (1 s, the tokens' rows locked against revocations meanwhile) and failed one,
// whose rows waited for the next flush. Written in key order, one waits for the other instead.
import { sql } from 'kysely'
import t from 'tap'
import { createDb } from '../../../src/db/index.js'
import { UsageRecorder } from '../../../src/modules/authorize/usage.js'
import { build } from '../../helpers/app.js'
import { ALICE, seedDirectory } from '../../helpers/fixtures.js'

const TOKENS = 1500
const ROUNDS = 6
const PERMISSIONS = [{ name: 'read_code' }, { name: 'push_code' }]

t.test('two instances flushing the same tokens in opposite orders: no deadlock, every count written', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { rows } = await sql<{ id: number }>`
    insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, created_by)
    select ${ALICE}, 'busy ' || i, 'fine_grained', sha256(('flush-order-' || i)::bytea), 'fgpat-' || i, 'test'
    from generate_series(1, ${TOKENS}) i returning id`.execute(ctx.app.db)
  const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b)
  // Two instances: their own pools, as two processes have.
  const pools = [createDb(ctx.config.databaseUrl, 2), createDb(ctx.config.databaseUrl, 2)]
  t.teardown(() => Promise.all(pools.map((db) => db.destroy())))
  const errors: string[] = []
  const at = new Date()
  for (let round = 0; round < ROUNDS; round++) {
    const [a, b] = pools.map((db) => new UsageRecorder(db, (err) => errors.push(`${(err as { code?: string }).code}: ${err.message}`)))
    for (const id of ids) a.record(id, at, '192.0.2.1', PERMISSIONS, 0, true)
    for (const id of [...ids].reverse()) b.record(id, at, '192.0.2.2', PERMISSIONS, 0, true)
    await Promise.all([a.flush(), b.flush()])
  }
  t.same(errors, [], 'no flush failed')
  const day = at.toISOString().slice(0, 10)
  const { rows: [written] } = await sql<{ rows: string; allowed: string }>`
    select count(*) as rows, sum(allowed) as allowed from token_usage_daily where day = ${day}::date and token_id = any(${ids}::bigint[])`.execute(ctx.app.db)
  t.equal(Number(written.rows), TOKENS * PERMISSIONS.length, 'one row per token and permission')
  t.equal(Number(written.allowed), ROUNDS * 2 * TOKENS * PERMISSIONS.length, 'every use of every round, from both instances')
  const { rows: [used] } = await sql<{ n: string }>`select count(*) as n from personal_access_tokens where id = any(${ids}::bigint[]) and last_used_at is not null`.execute(ctx.app.db)
  t.equal(Number(used.n), TOKENS, 'every token\'s last use written')
})
