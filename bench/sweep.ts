// `npm run bench:sweep`: 100,000 active tokens enter the 7-day window at once; one sweep writes
// their notices, then the worker mails them all. Prints the sweep time, the time until every mail
// was accepted after it, and the worker's peak RSS (the mail server runs in a separate process).
//
//   BENCH_TOKENS=100000        how many tokens expire in the window
//   BENCH_MAIL=smtp|eml        SMTP to an in-process-tree sink (default), or .eml files in a temp dir
//   BENCH_MAIL_CONCURRENCY=5   mail jobs in flight (the worker's default is 5)
import { fork } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { loadConfig } from '../src/config.js'
import { startWorker } from '../src/worker.js'
import { JWT_SECRET, PEPPER, progress, startStack } from './lib.js'

const TOKENS = Number(process.env.BENCH_TOKENS ?? 100_000)
const MAIL = process.env.BENCH_MAIL ?? 'smtp'
const CONCURRENCY = Number(process.env.BENCH_MAIL_CONCURRENCY ?? 5)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

const stack = await startStack()
const client = new pg.Client({ connectionString: stack.url })
await client.connect()
await client.query('truncate users, namespaces, memberships, personal_access_tokens, personal_access_token_scopes, audit_events, notification_deliveries cascade')
const users = 1000
await client.query(`insert into users (id, username, name, email) select i, 'u' || i, 'User ' || i, 'u' || i || '@example.com' from generate_series(1, $1) i`, [users])
const t0 = Date.now()
await client.query(
  `insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, expires_at, created_by)
   select 1 + i % $2, 'token ' || i, 'fine_grained', sha256(('bench-' || i)::bytea), 'fgpat-' || substr(md5(i::text), 1, 4), current_date + 5, 'bench'
   from generate_series(1, $1) i`,
  [TOKENS, users],
)
await client.query('analyze personal_access_tokens')
console.error(`[bench] ${TOKENS} tokens expiring in 5 days inserted in ${Date.now() - t0} ms`)

const sink = MAIL === 'smtp' ? fork(new URL('./smtp-sink.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }) : undefined
const sinkPort = sink ? await new Promise<number>((resolve) => sink.once('message', (m) => resolve((m as { port: number }).port))) : 0
const mailDir = mkdtempSync(join(tmpdir(), 'fgpat-bench-mail-'))
const config = loadConfig({
  NODE_ENV: 'development', DATABASE_URL: stack.url, REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: `bench-sweep-${Date.now()}:`,
  TOKEN_PEPPERS: PEPPER, AUTH_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'warn', DATA_DIR: mailDir,
  SMTP_URL: sink ? `smtp://127.0.0.1:${sinkPort}` : '',
})

let peakRss = process.memoryUsage().rss
let peakHeap = process.memoryUsage().heapUsed
const baseRss = peakRss
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  peakHeap = Math.max(peakHeap, m.heapUsed)
}, 50)
// No outbox polling until the sweep has finished (it kicks the dispatcher then), so the sweep is
// timed alone; the mail workers are idle meanwhile.
const worker = await startWorker(config, { schedule: false, mailConcurrency: CONCURRENCY, outboxPollMs: null })

const s0 = Date.now()
const report = await worker.runSweep()
const sweepMs = Date.now() - s0
const sweepPeak = peakRss
console.error(`[bench] sweep: ${JSON.stringify(report.notices)} in ${report.batches} batches, ${sweepMs} ms`)

async function delivered(): Promise<number> {
  const { rows } = await client.query<{ n: string }>('select count(*) as n from notification_deliveries')
  return Number(rows[0].n)
}
for (;;) {
  const n = await delivered()
  progress('mails', n, TOKENS)
  if (n >= TOKENS) break
  await new Promise((r) => setTimeout(r, 500))
}
const mailMs = Date.now() - s0 - sweepMs
const accepted = sink
  ? await new Promise<number>((resolve) => {
      sink.once('message', (m) => resolve((m as { count: number }).count))
      sink.send('count')
    })
  : readdirSync(join(mailDir, 'mail')).length
clearInterval(sampler)
const endHeap = process.memoryUsage().heapUsed
await worker.close()
await client.end()
sink?.kill()
rmSync(mailDir, { recursive: true, force: true })
await stack.stop()

const rows = [
  ['tokens in the 7-day window', String(TOKENS)],
  ['sweep (notices + audit events written)', `${(sweepMs / 1000).toFixed(1)} s (${Math.round(TOKENS / (sweepMs / 1000))} tokens/s), ${report.batches} batches`],
  ['then every mail accepted (outbox → mail jobs → server)', `${(mailMs / 1000).toFixed(1)} s (${Math.round(TOKENS / (mailMs / 1000))} mails/s, concurrency ${CONCURRENCY}, ${MAIL})`],
  ['total', `${((sweepMs + mailMs) / 1000).toFixed(1)} s`],
  ['mails received by the server', String(accepted)],
  ['worker RSS: before / peak during sweep / peak overall', `${mb(baseRss)} / ${mb(sweepPeak)} / ${mb(peakRss)}`],
  ['V8 heap used: peak / at the end', `${mb(peakHeap)} / ${mb(endHeap)}`],
]
console.log(['', '| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), ''].join('\n'))
if (accepted !== TOKENS) {
  console.error(`[bench] expected ${TOKENS} mails, got ${accepted}`)
  process.exitCode = 1
}
