// Shared set-up for the jobs tests: an in-process SMTP server, an app on its own database and
// Redis prefix (build), the test directory, and a worker on the same config, closed before the
// database is dropped (tap runs teardowns last-in, first-out).
import { sql } from 'kysely'
import { build, LogCapture, type TestContext } from '../../helpers/app.js'
import { seedDirectory } from '../../helpers/fixtures.js'
import { startSmtp, type TestSmtp } from '../../helpers/smtp.js'
import type { Clock } from '../../../src/domain/dates.js'
import { startWorker, type WorkerDeps, type WorkerHandle } from '../../../src/worker.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

export const PUBLIC_URL = 'https://fgpat.example.com'

/** The plain-text part is wrapped at 76 columns: compare it with whitespace collapsed. */
export const flat = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ')

export interface JobsContext {
  ctx: TestContext
  smtp: TestSmtp
  worker: WorkerHandle
  workerLogs: LogCapture
  /** Another worker on the same database and queues (a second process, or a restart). */
  startAnotherWorker: (deps?: WorkerDeps) => Promise<WorkerHandle>
}

export async function setUpJobs(
  t: Tap,
  opts: { clock?: Clock; env?: Record<string, string>; worker?: WorkerDeps; seed?: boolean } = {},
): Promise<JobsContext> {
  const smtp = await startSmtp(t)
  const ctx = await build(t, { clock: opts.clock, env: { SMTP_URL: smtp.url, PUBLIC_URL, ...opts.env } })
  if (opts.seed ?? true) await seedDirectory(ctx)
  const workerLogs = new LogCapture()
  const startAnotherWorker = async (deps: WorkerDeps = {}) => {
    const w = await startWorker(ctx.config, {
      clock: opts.clock,
      logStream: workerLogs,
      schedule: false,
      outboxPollMs: 100,
      mailRetry: { attempts: 3, backoffMs: 50 },
      ...opts.worker,
      ...deps,
    })
    t.teardown(() => w.close())
    return w
  }
  const worker = await startAnotherWorker()
  return { ctx, smtp, worker, workerLogs, startAnotherWorker }
}

/** Rows of notification_deliveries, straight from PostgreSQL. */
export async function deliveries(ctx: TestContext) {
  const { rows } = await sql<{ event_id: number; kind: string; status: string; recipient: string | null; detail: string | null }>`
    select event_id, kind, status, recipient, detail from notification_deliveries order by event_id
  `.execute(ctx.app.db)
  return rows
}

/** The mail server answers before the worker commits its delivery row: wait for the rows. */
export async function waitForDeliveries(ctx: TestContext, count: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await deliveries(ctx)
    if (rows.length >= count) return rows
    if (Date.now() > deadline) throw new Error(`expected ${count} deliveries, found ${rows.length}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function undispatched(ctx: TestContext): Promise<number> {
  const row = await ctx.app.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('dispatched_at', 'is', null).executeTakeFirstOrThrow()
  return Number(row.n)
}
