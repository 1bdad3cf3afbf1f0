// Usage retention: token_usage_daily rows older than USAGE_RETENTION_DAYS are deleted (in
// batches) by a daily scheduled job; without the table the job is a no-op.
import { sql } from 'kysely'
import t from 'tap'
import { manualClock } from '../../helpers/app.js'
import { ALICE } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { addDays } from '../../../src/domain/dates.js'
import { pruneUsage } from '../../../src/jobs/retention.js'
import { USAGE_RETENTION } from '../../../src/jobs/queues.js'
import { setUpJobs } from './setup.js'

const START = '2026-03-01T10:00:00Z'

t.test('rows older than USAGE_RETENTION_DAYS go, the rest stay', async (t) => {
  const clock = manualClock(new Date(START))
  const { ctx, worker, startAnotherWorker } = await setUpJobs(t, { clock, env: { USAGE_RETENTION_DAYS: '30' } })
  const token = await createToken(ctx, ALICE, { expires_at: addDays('2026-03-01', 30) })
  const days = [-40, -31, -30, -29, 0].map((d) => addDays('2026-03-01', d))
  for (const day of days) {
    for (const permission of ['read_code', 'push_code']) {
      await sql`insert into token_usage_daily (token_id, day, permission, namespace_id, allowed, denied) values (${token.id}, ${day}::date, ${permission}, 102, 3, 1)`.execute(ctx.app.db)
    }
  }
  t.same(await worker.runRetention(), { deleted: 4 }, 'the -40 and -31 days, two permissions each')
  const left = await sql<{ day: string }>`select distinct day::text as day from token_usage_daily order by day`.execute(ctx.app.db)
  t.same(left.rows.map((r) => r.day), days.slice(2))
  t.same(await worker.runRetention(), { deleted: 0 }, 'idempotent')

  clock.advanceDays(31)
  t.same(await pruneUsage(ctx.app.db, clock, 30, 2), { deleted: 6 }, 'in batches of 2 until none is left')

  const scheduled = await startAnotherWorker({ schedule: true })
  t.equal((await scheduled.queues.maintenance.getJobScheduler(USAGE_RETENTION))?.every, 24 * 3_600_000, 'scheduled daily')
})

t.test('without the usage table (not migrated yet) the job does nothing and says why', async (t) => {
  const { ctx, worker } = await setUpJobs(t, { seed: false })
  await sql`drop table token_usage_daily`.execute(ctx.app.db)
  t.same(await worker.runRetention(), { deleted: 0, skipped: 'token_usage_daily does not exist' })
})
