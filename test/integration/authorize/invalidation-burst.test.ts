// A bulk load's transaction delivers its notifications in one burst. The listener queues each
// payload as it arrives and applies the entries a slice of time at a time (pg-listener.ts): every
// entry is applied once, in the order PostgreSQL sent them, including those that arrive while it
// pauses, and a heartbeat counts only once everything that came before its answer is applied.
import pg from 'pg'
import t from 'tap'
import { INVALIDATION_CHANNEL, PgInvalidationListener } from '../../../src/cache/pg-listener.js'
import { build } from '../../helpers/app.js'

const PAYLOADS = 40
const ENTRIES_PER_PAYLOAD = 400 // 40 × 400 = 16,000 entries: many slices of 5 ms
const payload = (burst: string, p: number) =>
  Array.from({ length: ENTRIES_PER_PAYLOAD }, (_, i) => `burst-${burst}:${p * ENTRIES_PER_PAYLOAD + i}|${p + 1}`).join(',')

t.test('a burst of notifications: every entry applied in order, before the next heartbeat counts', async (t) => {
  const ctx = await build(t)
  const applied: [string, number][] = []
  const verified: { sentAt: number; appliedThen: number }[] = []
  const listener = new PgInvalidationListener({
    connectionString: ctx.config.databaseUrl,
    onMessage: (key, version) => {
      if (key.startsWith('burst-')) applied.push([key, version])
    },
    onVerified: (sentAt) => verified.push({ sentAt, appliedThen: applied.length }),
    log: { warn: () => undefined },
    heartbeatMs: 20,
    timeoutMs: 5000,
  })
  listener.start()
  t.teardown(() => listener.stop())
  const client = new pg.Client({ connectionString: ctx.config.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  while (verified.length === 0) await new Promise((r) => setTimeout(r, 10))

  // Two bursts, each one transaction; the second is sent while the first is still being applied.
  const send = async (burst: string) => {
    await client.query('begin')
    for (let p = 0; p < PAYLOADS; p++) await client.query('select pg_notify($1, $2)', [INVALIDATION_CHANNEL, payload(burst, p)])
    await client.query('commit')
  }
  await send('a')
  const firstDone = Date.now()
  await send('b')
  const allSent = Date.now()
  const total = 2 * PAYLOADS * ENTRIES_PER_PAYLOAD
  while (!verified.some((v) => v.sentAt >= allSent)) await new Promise((r) => setTimeout(r, 10))

  t.equal(applied.length, total, `all ${total} entries applied`)
  const expected = ['a', 'b'].flatMap((burst) => Array.from({ length: PAYLOADS * ENTRIES_PER_PAYLOAD }, (_, i) => `burst-${burst}:${i}`))
  t.ok(applied.every(([key], i) => key === expected[i]), 'in the order they were sent, the second burst after the first')
  t.ok(applied.every(([key, version]) => version === Math.floor(Number(key.split(':')[1]) / ENTRIES_PER_PAYLOAD) + 1), 'each with its version')
  const afterFirst = verified.find((v) => v.sentAt >= firstDone)
  t.ok(afterFirst && afterFirst.appliedThen >= PAYLOADS * ENTRIES_PER_PAYLOAD, 'a heartbeat sent after the first burst counted only once the burst was applied')
  const afterAll = verified.find((v) => v.sentAt >= allSent)
  t.equal(afterAll?.appliedThen, total, 'a heartbeat sent after both counted only once both were applied')
})
