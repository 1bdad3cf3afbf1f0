// Every route, every field, from openapi/openapi.json: a fixed-seed slice of generated requests,
// valid-looking and hostile, against a real app. No answer may be a 5xx and the server log may hold
// no unhandled error or stack trace. `npm run fuzz` runs the same with 100,000 requests (FUZZ_RUNS,
// FUZZ_SEED); a 5xx it finds becomes a case in hostile-input.test.ts.
import t from 'tap'
import { build } from '../helpers/app.js'
import { formatReport, runFuzz } from '../fuzz/runner.js'

const runs = Number(process.env.FUZZ_RUNS ?? 5000)
const NEEDS_THE_WORKER = new Set(['redeliverGroupWebhookDelivery', 'redeliverInstanceWebhookDelivery'])
const seed = Number(process.env.FUZZ_SEED ?? 20260112)

t.test(`${runs} generated requests (seed ${seed}): no 5xx, no stack trace in the log`, async (t) => {
  // warn: the per-request info lines of 100,000 requests are nothing to scan; errors are logged above it.
  // Webhook endpoints of the world point at loopback (nothing listens: the fuzz runs no worker).
  const ctx = await build(t, { env: { LOG_LEVEL: 'warn', WEBHOOK_ALLOWED_RANGES: '127.0.0.0/8' } })
  const report = await runFuzz(ctx, {
    seed, runs,
    progress: (done) => {
      if (runs > 10_000 && done % 10_000 === 0) console.error(`[fuzz] ${done} / ${runs}`)
    },
  })
  console.error(formatReport(report))
  t.equal(report.runs, runs)
  t.same(report.failures.map((f) => `${f.status} ${f.request.method} ${f.request.url}`), [], 'no 5xx')
  t.same(report.logProblems, [], 'no unhandled error or stack trace in the server log')
  // A harness whose requests all bounce off validation or authentication would prove nothing.
  // Not counted: a redelivery needs a delivery, which only the worker's outbox makes (none runs here).
  const counted = Object.entries(report.byOperation).filter(([op]) => !NEEDS_THE_WORKER.has(op))
  const ops = counted.length
  const reached = counted.filter(([, counts]) => Object.keys(counts).some((s) => s.startsWith('2'))).length
  t.ok(reached >= ops * 0.9, `requests got through (2xx) to ${reached} of ${ops} operations`)
})
