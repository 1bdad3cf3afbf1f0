// The variables of shutdown and outbox recovery: defaults, accepted forms, and a clear refusal.
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

const GOOD = {
  DATABASE_URL: 'postgres://fgpat:secret@db.internal:5432/fgpat',
  REDIS_URL: 'redis://cache.internal:6379/0',
  TOKEN_PEPPERS: 'a'.repeat(32),
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
}

t.test('defaults: 10 s to shut down, 60 s before a lost job is dispatched again, 30 s job locks', async (t) => {
  t.match(loadConfig(GOOD), { shutdownTimeoutMs: 10_000, outboxRedispatchAfterMs: 60_000, jobLockDurationMs: 30_000 })
})

t.test('durations as elsewhere: 5s, 2m, or milliseconds', async (t) => {
  const config = loadConfig({ ...GOOD, SHUTDOWN_TIMEOUT: '5s', OUTBOX_REDISPATCH_AFTER: '2m', JOB_LOCK_DURATION: '1500' })
  t.match(config, { shutdownTimeoutMs: 5000, outboxRedispatchAfterMs: 120_000, jobLockDurationMs: 1500 })
})

for (const name of ['SHUTDOWN_TIMEOUT', 'OUTBOX_REDISPATCH_AFTER', 'JOB_LOCK_DURATION']) {
  t.test(`a bad ${name} stops the start with a message naming it`, async (t) => {
    for (const bad of ['soon', '10 parsecs', '500ms', '-1s']) {
      try {
        loadConfig({ ...GOOD, [name]: bad })
        t.fail(`${name}=${bad} was accepted`)
      } catch (err) {
        t.ok(err instanceof ConfigError && err.message.includes(name), `${name}=${bad}: ${(err as Error).message.split('\n')[1]}`)
      }
    }
  })
}
