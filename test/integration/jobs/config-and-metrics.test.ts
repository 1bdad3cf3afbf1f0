// The worker's settings (SWEEP_EVERY, AUTO_REVOKE_UNUSED_DAYS, USAGE_RETENTION_DAYS,
// WORKER_METRICS_PORT) are validated with the rest of the config; a standalone worker serves
// /metrics on WORKER_METRICS_PORT.
import t from 'tap'
import { ConfigError, loadConfig } from '../../../src/config.js'
import { freePort } from '../../../src/embedded/ports.js'
import { setUpJobs } from './setup.js'

const GOOD = {
  DATABASE_URL: 'postgres://fgpat:secret@db.internal:5432/fgpat',
  REDIS_URL: 'redis://cache.internal:6379/0',
  TOKEN_PEPPERS: 'a'.repeat(32),
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
}

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ ...GOOD, ...env })
    return ''
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
}

t.test('defaults and accepted forms', async (t) => {
  t.match(loadConfig(GOOD), { sweepEveryMs: 3_600_000, autoRevokeUnusedDays: 0, usageRetentionDays: 400, workerMetricsPort: 0 })
  const forms: [string, number][] = [['30m', 1_800_000], ['1h', 3_600_000], ['1d', 86_400_000], ['90s', 90_000], ['90000', 90_000], ['1500ms', 1500]]
  for (const [input, ms] of forms) t.equal(loadConfig({ ...GOOD, SWEEP_EVERY: input }).sweepEveryMs, ms, input)
  t.match(loadConfig({ ...GOOD, AUTO_REVOKE_UNUSED_DAYS: '90', USAGE_RETENTION_DAYS: '30', WORKER_METRICS_PORT: '9464' }), {
    autoRevokeUnusedDays: 90, usageRetentionDays: 30, workerMetricsPort: 9464,
  })
})

t.test('bad values name the variable and say what to write', async (t) => {
  t.match(problem({ SWEEP_EVERY: 'hourly' }), /SWEEP_EVERY: "hourly" is not a duration: use e\.g\. 30m, 1h, 1d or milliseconds/)
  t.match(problem({ SWEEP_EVERY: '500ms' }), /SWEEP_EVERY: must be at least 1s/)
  t.match(problem({ SWEEP_EVERY: '0' }), /SWEEP_EVERY/)
  t.match(problem({ AUTO_REVOKE_UNUSED_DAYS: '-1' }), /AUTO_REVOKE_UNUSED_DAYS: must be a whole number, 0 or more/)
  t.match(problem({ AUTO_REVOKE_UNUSED_DAYS: '7.5' }), /AUTO_REVOKE_UNUSED_DAYS/)
  t.match(problem({ USAGE_RETENTION_DAYS: '0' }), /USAGE_RETENTION_DAYS: must be a whole number of days, 1 or more/)
  t.match(problem({ WORKER_METRICS_PORT: '70000' }), /WORKER_METRICS_PORT/)
})

t.test('a standalone worker serves /metrics on WORKER_METRICS_PORT', async (t) => {
  const port = await freePort()
  const { worker } = await setUpJobs(t, { env: { WORKER_METRICS_PORT: String(port) }, seed: false })
  t.ok(worker)
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  const body = await res.text()
  t.match(body, /fgpat_job_queue_jobs\{queue="mail",state="waiting"\} 0/)
  t.match(body, /fgpat_job_queue_jobs\{queue="maintenance",state="failed"\} 0/)
  t.match(body, /# TYPE fgpat_jobs_total counter/)
  t.match(body, /# TYPE fgpat_job_duration_seconds histogram/)
  t.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404)
})
