// Shared pieces of the benchmarks: services, fast seeding, server processes, autocannon runs and
// the /metrics scrape for cache hit rates. Benchmarks are never tests: they print numbers.
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { signDevJwt } from '../src/auth/dev-jwt.js'
import { createDb } from '../src/db/index.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { freePort } from '../src/embedded/ports.js'
import { YOUNG_GENERATION_FLAGS } from '../src/gc-tuning.js'
import { ensureDatabase, startServices } from '../src/embedded/services.js'
import { digestToken, generateToken, tokenHint } from '../src/domain/token-format.js'

export const PEPPER = 'bench-pepper-bench-pepper-bench-pepper-0123'
export const JWT_SECRET = 'bench-jwt-secret-bench-jwt-secret-0123456789'

export async function startStack() {
  const services = await startServices({
    dataDir: mkdtempSync(join(tmpdir(), 'fgpat-bench-')), persistent: false,
    databaseUrl: process.env.DATABASE_URL || undefined, redisUrl: process.env.REDIS_URL || undefined,
    password: 'bench', log: (m) => console.error(`[bench] ${m}`),
  })
  await ensureDatabase(services.databaseUrl('postgres'), 'fgpat_bench')
  const url = services.databaseUrl('fgpat_bench')
  const db = createDb(url, 2)
  await migrateToLatest(db)
  await db.destroy()
  return { ...services, url }
}

export function progress(label: string, done: number, total: number) {
  const width = 30
  const filled = Math.round((done / total) * width)
  process.stderr.write(`\r[bench] ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`)
}

/**
 * Seeds `users` users, `groups` groups with `projectsPerGroup` projects each, one developer
 * membership per user, and `tokens` fine-grained tokens (read_code + push_code on the owner's group),
 * with unnest() batches of 10,000 rows. Returns the secrets and, per token, a project it may read.
 */
export async function seed(url: string, o: { users: number; groups: number; projectsPerGroup: number; tokens: number }) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('truncate users, namespaces, memberships, personal_access_tokens, personal_access_token_scopes, token_usage_daily, audit_events cascade')
  const t0 = Date.now()
  await client.query(`insert into users (id, username, name, email) select i, 'u' || i, 'User ' || i, 'u' || i || '@example.com' from generate_series(1, $1) i`, [o.users])
  await client.query(`insert into namespaces (id, kind, path, full_path, name, traversal_ids) select i, 'group', 'g' || i, 'g' || i, 'g' || i, array[i] from generate_series(1, $1) i`, [o.groups])
  const firstProject = o.groups + 1
  await client.query(
    `insert into namespaces (id, kind, parent_id, path, full_path, name, traversal_ids)
     select $1 + i, 'project', 1 + i % $2, 'p' || i, 'g' || (1 + i % $2) || '/p' || i, 'p' || i, array[1 + i % $2, $1 + i]
     from generate_series(0, $3 - 1) i`,
    [firstProject, o.groups, o.groups * o.projectsPerGroup],
  )
  await client.query(`insert into memberships (user_id, namespace_id, access_level) select i, 1 + i % $2, 30 from generate_series(1, $1) i`, [o.users, o.groups])
  console.error(`[bench] directory: ${o.users} users, ${o.groups} groups, ${o.groups * o.projectsPerGroup} projects in ${Date.now() - t0} ms`)
  const secrets: string[] = []
  const projects: number[] = []
  const batch = 10_000
  const t1 = Date.now()
  for (let start = 0; start < o.tokens; start += batch) {
    const n = Math.min(batch, o.tokens - start)
    const userIds: number[] = []
    const digests: Buffer[] = []
    const hints: string[] = []
    const groups: number[] = []
    for (let i = 0; i < n; i++) {
      const user = 1 + ((start + i) % o.users)
      const secret = generateToken('fgpat-')
      secrets.push(secret)
      userIds.push(user)
      digests.push(digestToken(PEPPER, secret))
      hints.push(tokenHint(secret))
      const group = 1 + (user % o.groups)
      groups.push(group)
      // a project of that group: project ids run firstProject + k where group = 1 + k % groups
      projects.push(firstProject + (group - 1) + o.groups * ((start + i) % o.projectsPerGroup))
    }
    const ids = await client.query<{ id: string }>(
      `insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, expires_at, created_by)
       select u, 'bench', 'fine_grained', d, h, current_date + 300, 'bench' from unnest($1::bigint[], $2::bytea[], $3::text[]) as x(u, d, h)
       returning id`,
      [userIds, digests, hints],
    )
    await client.query(
      `insert into personal_access_token_scopes (token_id, access, namespace_id, permissions)
       select t, 'selected_memberships', g, array['read_code', 'push_code'] from unnest($1::bigint[], $2::bigint[]) as x(t, g)`,
      [ids.rows.map((r) => Number(r.id)), groups],
    )
    progress('tokens', start + n, o.tokens)
  }
  await client.query('update personal_access_tokens set family_id = id')
  // VACUUM too: the scope inserts above update every token row (the permissions trigger of
  // migration 0005), and a measurement should not race autovacuum over those dead rows.
  await client.query('vacuum analyze')
  await client.end()
  console.error(`[bench] ${o.tokens} tokens in ${Date.now() - t1} ms`)
  return { secrets, projects }
}

export interface Server {
  port: number
  child: ChildProcess
  stop: () => Promise<void>
}

/** `nodeArgs`: node flags for this process only (bench:ab compares two processes' flags). */
export async function startServer(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort()
  // BENCH_PROFILE=dir writes a V8 CPU profile of each server process there (see bench/README.md).
  // BENCH_NODE_ARGS adds node flags to every server process (e.g. --perf-basic-prof for `perf record`).
  // Every server (the API and the ceiling alike) runs with the flags the API's launchers give it
  // (src/gc-tuning.ts); flags given after them (BENCH_NODE_ARGS, nodeArgs) override them.
  const execArgv = [
    ...YOUNG_GENERATION_FLAGS,
    ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
    ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...nodeArgs,
  ]
  const child = fork(script, [], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit', 'ipc'], execArgv })
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v4/authorize`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
      if (res.status) break
    } catch {
      if (Date.now() > deadline) throw new Error(`${script} did not start`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    port, child,
    stop: () => new Promise((r) => {
      child.once('exit', () => r())
      child.kill('SIGTERM')
    }),
  }
}

export function apiEnv(stack: { url: string; redisUrl: string }, extra: Record<string, string> = {}) {
  return {
    ...serverProcesses(),
    NODE_ENV: 'development', DATABASE_URL: stack.url, REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: 'bench:',
    TOKEN_PEPPERS: PEPPER, AUTH_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'warn', SEED_DEMO: 'false', ...extra,
  }
}

export const serviceJwt = () => signDevJwt({ secret: JWT_SECRET, sub: 'service:bench', scopes: ['authorize'], expiresIn: '2h' })

export interface Measured {
  name: string
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  hits?: Record<string, number>
  /** CPU time (user + system) the server processes spent per answered request, in µs. */
  serverCpuUs?: number
}

// The server's CPU per request tells more than req/s on a noisy host: the ceiling is bound by
// autocannon, so its req/s hides how much the server itself spends.
function processTree(pid: number): number[] {
  let children: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children = children.concat(readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
    }
  } catch { /* gone, or not Linux */ }
  return [pid, ...children.flatMap(processTree)]
}

/** The postmaster's pid (the parent of a backend), when PostgreSQL runs on this machine; 0 otherwise: its CPU is not read. */
export async function postmasterPid(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
    return Number(readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]) // ppid
  } catch {
    return 0
  } finally {
    await client.end()
  }
}

/** The middle value (the lower of the two middle ones for an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

/** Total user + system CPU seconds of a process and its descendants, live or exited (Linux /proc; 0 elsewhere). */
export function cpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')
      // utime, stime, cutime, cstime (fields 14-17 of stat): with the time of children that exited
      // and were waited for (PostgreSQL's backends and autovacuum workers come and go), else a run in
      // which a backend exits reads less CPU than it began with.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    } catch { /* exited */ }
  }
  return ticks / 100 // USER_HZ is 100 on Linux
}

/**
 * autocannon with 50 connections for a bounded time; `body` is called for every request.
 * Latencies come from autocannon's per-response times (fractional ms): its own percentiles are
 * whole milliseconds, too coarse to compare a 1 ms p99 with a 1.3 ms one.
 */
export async function load(name: string, port: number, jwt: string, body: () => string, seconds: number, serverPid?: number): Promise<Measured> {
  const cpuBefore = serverPid ? cpuSeconds(serverPid) : 0
  let times = new Float64Array(1 << 20)
  let n = 0
  let instance: autocannon.Instance | undefined
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
      url: `http://127.0.0.1:${port}/api/v4/authorize`,
      connections: 50,
      duration: seconds,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, setupRequest: (req) => ({ ...req, body: body() }) }],
    }, (err, result) => (err ? reject(err) : resolve(result)))
  })
  instance!.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    if (n === times.length) {
      const bigger = new Float64Array(times.length * 2)
      bigger.set(times)
      times = bigger
    }
    times[n++] = ms
  })
  const result = await finished
  const serverCpuUs = serverPid && n > 0 ? ((cpuSeconds(serverPid) - cpuBefore) * 1e6) / n : undefined
  const sorted = times.subarray(0, n).sort()
  const at = (q: number) => (n === 0 ? 0 : Number(sorted[Math.min(n - 1, Math.floor(q * n))].toFixed(2)))
  return { name, rps: result.requests.average, p50: at(0.5), p99: at(0.99), errors: result.errors, non2xx: result.non2xx, serverCpuUs }
}

/** Which tier of the cache answered the token (from the API's /metrics). */
export async function tokenLookups(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const out: Record<string, number> = { l1: 0, redis: 0, postgres: 0 }
  for (const m of text.matchAll(/fgpat_cache_lookups_total\{kind="tok",tier="(\w+)"\} (\d+)/g)) out[m[1]] = Number(m[2])
  return out
}

export function hitRates(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]))
  const total = Object.values(d).reduce((a, b) => a + b, 0) || 1
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v / total]))
}

export function table(rows: Measured[]): string {
  const ceiling = rows[0]
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`
  const lines = [
    '| run | req/s | p50 ms | p99 ms | ratio to ceiling | p99 vs ceiling | server CPU µs/req | token answered by: L1 / Redis / PostgreSQL | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ]
  for (const r of rows) {
    const hits = r.hits ? `${pct(r.hits.l1)} / ${pct(r.hits.redis)} / ${pct(r.hits.postgres)}` : '—'
    lines.push(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${(r.rps / ceiling.rps).toFixed(2)} | ${(r.p99 / ceiling.p99).toFixed(2)}× | ${r.serverCpuUs === undefined ? '—' : r.serverCpuUs.toFixed(1)} | ${hits} | ${r.errors + r.non2xx} |`)
  }
  return lines.join('\n')
}

/** BENCH_WEB_CONCURRENCY=N runs both the ceiling and the API as N node:cluster processes. */
export function serverProcesses(): Record<string, string> {
  return process.env.BENCH_WEB_CONCURRENCY ? { WEB_CONCURRENCY: process.env.BENCH_WEB_CONCURRENCY } : {}
}
