// The service through PgBouncer in transaction mode (Debian's 1.18: no prepared statements across
// transactions, no session state kept) with 2 server connections, fewer than the app's pool: the
// decision and lifecycle paths, the inventory and its CSV export, a mail dispatched by the worker.
// Migrations and the cache's LISTEN go around it (DATABASE_DIRECT_URL); without that, the cache
// notices the LISTEN is not kept and stays off instead of serving stale answers.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../../src/app.js'
import { startPgBouncer, type PgBouncerHandle } from '../../../src/embedded/pgbouncer.js'
import { freePort } from '../../../src/embedded/ports.js'
import { startWorker } from '../../../src/worker.js'
import { build, createTestDatabase, databaseUrl, LogCapture, testConfig, untilTrusted } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ADMIN, ALICE, API_PROJECT, asUser, seedDirectory, WEBSITE } from '../../helpers/fixtures.js'
import { startSmtp } from '../../helpers/smtp.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'
import { waitForDeliveries } from '../jobs/setup.js'

const POOL = 2
let bouncer: PgBouncerHandle

t.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-pgbouncer-'))
  bouncer = await startPgBouncer({ dir, port: await freePort(), upstream: process.env.FGPAT_TEST_PG_ADMIN_URL!, poolSize: POOL, log: (m) => t.comment(m) })
  t.teardown(async () => {
    await bouncer.stop()
    rmSync(dir, { recursive: true, force: true })
  })
})

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

t.test('PgBouncer really runs in transaction mode: clients share server connections and session state would leak', async (t) => {
  const config = await withClient(bouncer.adminUrl, (c) => c.query<{ key: string; value: string }>('SHOW CONFIG'))
  const setting = (k: string) => config.rows.find((r) => r.key === k)?.value
  t.equal(setting('pool_mode'), 'transaction')
  t.equal(setting('default_pool_size'), String(POOL))

  const db = await createTestDatabase(t)
  const clients = await Promise.all(Array.from({ length: 5 }, async () => {
    const c = new pg.Client({ connectionString: bouncer.url(db) })
    await c.connect()
    return c
  }))
  t.teardown(() => Promise.all(clients.map((c) => c.end())))
  const pids = new Set<number>()
  for (const c of clients) pids.add((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid)
  t.ok(pids.size <= POOL, `5 connected clients were served by ${pids.size} server connection(s)`)
  // Why the service keeps no session state: a session-level SET by one client is what the next
  // client of that server connection gets (server_reset_query is not run in transaction mode).
  await clients[0]!.query('set search_path = leaked_by_another_client')
  const seen = await Promise.all(clients.slice(1).map(async (c) => (await c.query<{ search_path: string }>('show search_path')).rows[0]!.search_path))
  t.ok(seen.includes('leaked_by_another_client'), 'a session SET reaches other clients')
  await clients[0]!.query('reset search_path')
})

t.test('decisions, token lifecycle, inventory and a mail, all through PgBouncer', async (t) => {
  const smtp = await startSmtp(t)
  const ctx = await build(t, { env: (dbName) => ({ DATABASE_URL: bouncer.url(dbName), DATABASE_DIRECT_URL: databaseUrl(dbName), SMTP_URL: smtp.url, DATABASE_STATEMENT_TIMEOUT_MS: '5000' }) })
  t.ok(ctx.app.policyCache.l1Active, 'the in-process cache hears invalidations over the direct connection')
  await seedDirectory(ctx)
  // A second replica on the same database, through the same PgBouncer.
  const other = await buildApp(ctx.config, { logStream: new LogCapture() })
  await other.ready()
  t.teardown(() => other.close())
  await untilTrusted(other)
  const workerLogs = new LogCapture()
  const worker = await startWorker(ctx.config, { logStream: workerLogs, schedule: false, outboxPollMs: 100, mailRetry: { attempts: 3, backoffMs: 50 } })
  t.teardown(() => worker.close())

  const decide = await authorizer(ctx)
  const decideOther = await authorizer(ctx, other)
  const alice = await asUser(ctx, ALICE)

  // Many at once: 2 server connections serve the app's pool of 10 and the other replica's.
  const tokens = await Promise.all(Array.from({ length: 12 }, (_, i) => createToken(ctx, ALICE, { name: `through pgbouncer ${i}` })))
  const answers = await Promise.all(tokens.flatMap((tok) => [
    decide(tok.token!, 'read_code', { type: 'project', id: API_PROJECT }),
    decideOther(tok.token!, 'read_code', { type: 'project', id: WEBSITE }),
  ]))
  t.same(answers.map((a) => a.allowed), tokens.flatMap(() => [true, false]))
  t.equal(answers[1]!.reason, 'resource_not_in_scope')

  const token = tokens[0]!
  const edited = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${token.id}`, headers: alice, payload: { granular_scopes: readCodeOn([API_PROJECT, WEBSITE]) } })
  t.equal(edited.statusCode, 200, edited.body)
  t.equal((await decideOther(token.token!, 'read_code', { type: 'project', id: WEBSITE })).allowed, true, 'the edit reaches the other replica')

  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, headers: alice })
  t.equal(rotated.statusCode, 200, rotated.body)
  const fresh = rotated.json() as { id: number; token: string }
  t.equal((await decideOther(token.token!, 'read_code', { type: 'project', id: API_PROJECT })).reason, 'token_revoked', 'the rotated-away secret is denied')
  t.equal((await decideOther(fresh.token, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)

  // Revoke on one replica while the other holds the allow in its in-process cache.
  t.equal((await decideOther(fresh.token, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)
  const revoked = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${fresh.id}`, headers: alice })
  t.equal(revoked.statusCode, 204, revoked.body)
  // The other replica hears the revoke over pub/sub and NOTIFY, so not necessarily before the
  // 204 reaches us: the design's bound is 1 s after the revoke answered (DESIGN.md section 8).
  const revokedAt = Date.now()
  let denied = await decideOther(fresh.token, 'read_code', { type: 'project', id: API_PROJECT })
  while (denied.allowed && Date.now() - revokedAt < 1000) {
    await new Promise((r) => setTimeout(r, 20))
    denied = await decideOther(fresh.token, 'read_code', { type: 'project', id: API_PROJECT })
  }
  t.same([denied.allowed, denied.reason], [false, 'token_revoked'], `the other replica denies within 1 s (${Date.now() - revokedAt} ms)`)

  const admin = await asUser(ctx, ADMIN)
  const list = await ctx.app.inject({ method: 'GET', url: '/api/v4/admin/personal_access_tokens?per_page=5', headers: admin })
  t.equal(list.statusCode, 200, list.body)
  t.equal(list.headers['x-total'], String(tokens.length + 1))
  const csv = await ctx.app.inject({ method: 'GET', url: '/api/v4/admin/personal_access_tokens', headers: { ...admin, accept: 'text/csv' } })
  t.equal(csv.statusCode, 200)
  t.equal(csv.body.trimEnd().split('\n').length, tokens.length + 2, 'a header and every token')

  // The worker (outbox, mail queue) on the same PgBouncer: the creation mails go out.
  const rows = await waitForDeliveries(ctx, 1)
  t.ok(rows.some((r) => r.status === 'sent'), 'a mail was sent')
  t.ok(smtp.mails.length >= 1)
})

t.test('without DATABASE_DIRECT_URL the cache sees its LISTEN is not kept and stays off', async (t) => {
  const dbName = await createTestDatabase(t)
  const logs = new LogCapture()
  const app = await buildApp(testConfig(dbName, { DATABASE_URL: bouncer.url(dbName) }), { logStream: logs })
  await app.ready()
  t.teardown(() => app.close())
  // Other clients use the server connections meanwhile, as a busy service's pool does.
  const busy = new pg.Pool({ connectionString: bouncer.url(dbName), max: 4 })
  t.teardown(() => busy.end())
  const deadline = Date.now() + 10_000
  while (!logs.text.includes('LISTEN session is not kept') && Date.now() < deadline) {
    await Promise.all(Array.from({ length: 4 }, () => busy.query('select pg_sleep(0.02)')))
  }
  t.match(logs.text, /LISTEN session is not kept.*DATABASE_DIRECT_URL/)
  await new Promise((r) => setTimeout(r, 1000))
  t.notOk(app.policyCache.l1Active, 'the in-process cache is bypassed')
})
