// `npm run bench:inventory`: the credential inventory at 1,000,000 tokens over 100,000 namespaces.
// Seeds with generate_series (digests are sha256 of a counter, not real secrets: nothing here presents a
// token), VACUUM ANALYZE (what autovacuum would have done by then), starts the API and measures
// each list case with autocannon. Target: p99 under 50 ms.
//
//   BENCH_TOKENS=1000000      tokens (spread over BENCH_USERS users and 100,000 namespaces)
//   BENCH_SECONDS=10          autocannon duration per case (10 connections)
//   BENCH_REUSE=1             with DATABASE_URL: keep a database an earlier run seeded (new
//                             migrations still apply), to try indexes without seeding again
//   BENCH_ONLY=group          only the cases whose name contains this text
// Besides latency, each case reports the CPU the API process and PostgreSQL (every process under its
// postmaster, when it runs on this machine) spent per answered request: with 10 connections on 2
// cores, p99 follows CPU per request, and CPU moves far less than p99 between runs.
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { signDevJwt } from '../src/auth/dev-jwt.js'
import { createDb } from '../src/db/index.js'
import { compactInventoryCounts } from '../src/jobs/inventory-counts.js'
import { apiEnv, cpuSeconds, JWT_SECRET, postmasterPid, progress, startServer, startStack } from './lib.js'

const TOKENS = Number(process.env.BENCH_TOKENS ?? 1_000_000)
const USERS = Number(process.env.BENCH_USERS ?? 50_000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const GROUPS = 10_000
const NAMESPACES = 100_000 // 10,000 top-level groups, 90,000 projects below them
const ADMIN = 1
const OWNER = 2 // owner of GROUP
const GROUP = 42
const TARGET_P99_MS = 50
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))

/** Seeds (or, with BENCH_REUSE=1, keeps) the data set; returns a user id with tokens. */
async function prepare(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>('select count(*) as n from personal_access_tokens')
    if (process.env.BENCH_REUSE === '1' && Number(rows[0].n) === TOKENS) {
      console.error(`[bench] reusing the ${TOKENS} seeded tokens (BENCH_REUSE=1)`)
      await client.query('analyze')
    } else {
      await seedInventory(client)
    }
    // The worker's hourly sweep folds the count deltas the seeding triggers wrote; do it now.
    const db = createDb(url, 1)
    const folded = await compactInventoryCounts(db)
    await db.destroy()
    console.error(`[bench] inventory count buckets: ${folded.rowsBefore} rows folded into ${folded.rowsAfter}`)
    const some = await client.query<{ user_id: string }>('select user_id from personal_access_tokens order by id offset $1 limit 1', [Math.floor(TOKENS / 2) + 123])
    return Number(some.rows[0].user_id)
  } finally {
    await client.end()
  }
}

async function seedInventory(client: pg.Client) {
  await client.query('truncate users, namespaces, memberships, personal_access_tokens, personal_access_token_scopes, token_usage_daily, audit_events, group_token_policies restart identity cascade')
  const t0 = Date.now()
  await client.query(`insert into users (id, username, name, email, is_admin) select i, 'u' || i, 'User ' || i, 'u' || i || '@example.com', i = $2 from generate_series(1, $1) i`, [USERS, ADMIN])
  await client.query(`insert into namespaces (id, kind, path, full_path, name, traversal_ids) select i, 'group', 'g' || i, 'g' || i, 'g' || i, array[i] from generate_series(1, $1) i`, [GROUPS])
  await client.query(
    `insert into namespaces (id, kind, parent_id, path, full_path, name, traversal_ids)
     select i, 'project', 1 + i % $1, 'p' || i, 'g' || (1 + i % $1) || '/p' || i, 'p' || i, array[1 + i % $1, i] from generate_series($1 + 1, $2) i`,
    [GROUPS, NAMESPACES],
  )
  // Every user a developer in two groups; OWNER also owns GROUP.
  await client.query(
    `insert into memberships (user_id, namespace_id, access_level)
     select u, g, 30 from generate_series(1, $1) u, lateral (select distinct unnest(array[1 + u % $2, 1 + (u * 7) % $2]) g) x
     on conflict do nothing`,
    [USERS, GROUPS],
  )
  await client.query(`insert into memberships (user_id, namespace_id, access_level) values ($1, $2, 50) on conflict (user_id, namespace_id) do update set access_level = 50`, [OWNER, GROUP])
  console.error(`[bench] directory: ${USERS} users, ${GROUPS} groups, ${NAMESPACES - GROUPS} projects in ${Date.now() - t0} ms`)

  // Token i: owner 1 + i % USERS, created over the last ~347 days in id order. Other traits come
  // from a hash of i, so they do not line up with the owner: 5% legacy (half of them api, half
  // read_api), 10% revoked, a quarter never used, expiries from 30 days ago to a year ahead.
  // Fine-grained scopes: 2% all_memberships (read_issue); else one project with read_code plus
  // push_code (84%), create_release (4%) or one of 40 other permissions (10%, 0.25% each).
  const tail = ['read_pipeline', 'create_pipeline', 'cancel_pipeline', 'retry_pipeline', 'read_job', 'read_job_log', 'play_job', 'retry_job', 'read_job_artifact', 'read_ci_variable',
    'read_environment', 'read_deployment', 'create_deployment', 'read_package', 'publish_package', 'read_container_image', 'push_container_image', 'read_merge_request',
    'create_merge_request', 'update_merge_request', 'approve_merge_request', 'read_note', 'create_note', 'read_issue', 'create_issue', 'update_issue', 'read_label',
    'read_milestone', 'read_release', 'update_release', 'read_project', 'read_project_member', 'create_branch', 'create_tag', 'read_commit_status', 'create_commit_status',
    'read_feature_flag', 'read_terraform_state', 'read_pipeline_schedule', 'read_deploy_key']
  const batch = 100_000
  const t1 = Date.now()
  for (let from = 1; from <= TOKENS; from += batch) {
    const to = Math.min(TOKENS, from + batch - 1)
    await client.query(
      `insert into personal_access_tokens (user_id, name, kind, scopes, token_digest, token_hint, expires_at, created_at, created_by,
         revoked_at, revoked_by, revoke_reason, last_used_at)
       select 1 + i % $3, 'token ' || i, case when h < 50 then 'legacy' else 'fine_grained' end,
         case when h < 25 then '{api}'::text[] when h < 50 then '{read_api}'::text[] else '{}'::text[] end,
         sha256(convert_to('bench-inventory-' || i, 'utf8')), case when h < 50 then 'lgpat-' else 'fgpat-' end || substr(md5(i::text), 1, 4),
         current_date + abs(hashint4(i + 1)) % 400 - 30, now() - ($4 - i) * interval '30 seconds', 'bench',
         case when h between 100 and 199 then now() - (h % 100) * interval '1 day' end, case when h between 100 and 199 then 'user:1' end,
         case when h between 100 and 199 then 'admin' end,
         case when h < 750 then now() - (i % 90) * interval '1 day' end
       from generate_series($1::int, $2::int) i, lateral (select abs(hashint4(i)) % 1000 as h) x`,
      [from, to, USERS, TOKENS],
    )
    await client.query(
      `insert into personal_access_token_scopes (token_id, access, namespace_id, permissions)
       select id, case when h < 20 then 'all_memberships' else 'selected_memberships' end,
         case when h < 20 then null else $3 + 1 + id % ($4 - $3) end,
         case when h < 20 then '{read_issue}'::text[] when h < 60 then '{read_code,create_release}'::text[]
              when h < 160 then array['read_code', ($5::text[])[1 + h % 40]] else '{read_code,push_code}'::text[] end
       from personal_access_tokens, lateral (select abs(hashint4(id::int * 31)) % 1000 as h) x
       where id between $1 and $2 and kind = 'fine_grained'`,
      [from, to, GROUPS, NAMESPACES, tail],
    )
    await client.query('update personal_access_tokens set family_id = id where id between $1 and $2', [from, to])
    progress('tokens', to, TOKENS)
  }
  console.error(`[bench] ${TOKENS} tokens and their scopes in ${Date.now() - t1} ms; vacuum analyze…`)
  const t2 = Date.now()
  await client.query('vacuum analyze')
  console.error(`[bench] vacuum analyze in ${Date.now() - t2} ms`)
}

interface Row { name: string; rps: number; p50: number; p99: number; bad: number; apiCpuMs: number; pgCpuMs: number }

async function measure(name: string, port: number, path: string, jwt: string, pids: { api: number; pg: number }): Promise<Row> {
  const url = `http://127.0.0.1:${port}${path}`
  const probe = await fetch(url, { headers: { authorization: `Bearer ${jwt}` } })
  const body = await probe.text()
  if (probe.status !== 200) throw new Error(`${name}: ${probe.status} ${body.slice(0, 300)}`)
  const total = probe.headers.get('x-total') ?? (probe.headers.has('x-next-page') ? 'omitted (over 10,000)' : '—')
  console.error(`[bench] ${name}: GET ${path} → X-Total ${total}, ${body.length} bytes`)
  const run = (duration: number) => autocannon({ url, connections: 10, duration, headers: { authorization: `Bearer ${jwt}` } })
  await run(2) // warm-up: connection pools, ajv, PostgreSQL buffers
  const before = { api: cpuSeconds(pids.api), pg: pids.pg ? cpuSeconds(pids.pg) : 0 }
  const r = await run(SECONDS)
  const perRequestMs = (seconds: number) => (seconds * 1000) / Math.max(1, r.requests.total)
  return {
    name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, bad: r.errors + r.non2xx,
    apiCpuMs: perRequestMs(cpuSeconds(pids.api) - before.api), pgCpuMs: pids.pg ? perRequestMs(cpuSeconds(pids.pg) - before.pg) : NaN,
  }
}

const stack = await startStack()
try {
  const someUser = await prepare(stack.url)
  const api = await startServer(here('../src/server.js'), apiEnv(stack, { REDIS_KEY_PREFIX: `bench-inventory-${Date.now()}:`, WEB_CONCURRENCY: '1' }))
  const admin = await signDevJwt({ secret: JWT_SECRET, sub: String(ADMIN), expiresIn: '2h' })
  const owner = await signDevJwt({ secret: JWT_SECRET, sub: String(OWNER), expiresIn: '2h' })
  const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)
  const list = '/api/v4/admin/personal_access_tokens'
  const cases: [string, string, string][] = [
    ['unfiltered, first page', list, admin],
    ['by user', `${list}?user_id=${someUser}`, admin],
    ['state=active', `${list}?state=active`, admin],
    ['expiring before (30 days)', `${list}?expires_before=${inDays(30)}`, admin],
    ['expiring before, sorted by expiry', `${list}?expires_before=${inDays(30)}&sort=expires_asc`, admin],
    // legacy api tokens (2.5%) hold every permission
    ['permission held by 6.5% (create_release)', `${list}?permission=create_release`, admin],
    ['permission held by 2.7% (publish_package)', `${list}?permission=publish_package`, admin],
    [`group owner: group ${GROUP}`, `/api/v4/groups/${GROUP}/manage/personal_access_tokens`, owner],
    ['summary (all tokens)', `${list}/summary`, admin],
    [`summary (group ${GROUP})`, `/api/v4/groups/${GROUP}/manage/personal_access_tokens/summary`, owner],
    // live legacy tokens (~4% of all) with a usage recommendation per row
    ['legacy report (all tokens)', `${list}/legacy_report`, admin],
    [`legacy report (group ${GROUP})`, `/api/v4/groups/${GROUP}/personal_access_tokens/legacy_report`, owner],
  ]
  const pids = { api: api.child.pid!, pg: await postmasterPid(stack.url) }
  const only = process.env.BENCH_ONLY
  const rows: Row[] = []
  for (const [name, path, jwt] of cases) if (!only || name.includes(only)) rows.push(await measure(name, api.port, path, jwt, pids))
  await api.stop()
  const lines = [
    `### ${TOKENS.toLocaleString('en')} tokens, ${NAMESPACES.toLocaleString('en')} namespaces, ${USERS.toLocaleString('en')} users (${new Date().toISOString().slice(0, 10)}; 10 connections, ${SECONDS} s per case)`,
    '',
    '| case | req/s | p50 ms | p99 ms | API CPU ms/req | PostgreSQL CPU ms/req | pass (p99 < 50 ms) |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.apiCpuMs.toFixed(2)} | ${Number.isNaN(r.pgCpuMs) ? '—' : r.pgCpuMs.toFixed(2)} | ${r.p99 < TARGET_P99_MS && r.bad === 0 ? 'yes' : `**no**${r.bad ? ` (${r.bad} errors)` : ''}`} |`),
  ]
  console.log(`\n${lines.join('\n')}\n`)
  if (rows.some((r) => r.p99 >= TARGET_P99_MS || r.bad > 0)) process.exitCode = 1
} finally {
  await stack.stop()
}
