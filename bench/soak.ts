// `npm run soak`: a long steady load on /authorize with token creations, rotations and revocations
// mixed in (and their mail sent), watching for what only time shows: memory that grows, latency
// that drifts, errors. The API and the worker run as their own processes (as deployed); a mail
// sink counts the mail.
//
//   SOAK_MINUTES=30   how long the load runs (the first SOAK_WARMUP_MINUTES are warm-up)
//   SOAK_RATE=2000    /authorize requests per second offered (steady, not flat out)
//   SOAK_WRITES=5     token writes per second (create / rotate / revoke)
//
// It fails (exit 1) on any 5xx, on a stale allow (a revoked token allowed more than a second after
// its revocation answered), or when the API's RSS floor (the lowest sample, what GC brings it back
// to) rose by 10% or more from the first five minutes after warm-up to the last five.
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { signDevJwt } from '../src/auth/dev-jwt.js'
import { apiEnv, JWT_SECRET, seed, serviceJwt, startServer, startStack } from './lib.js'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30)
const WARMUP_MINUTES = Number(process.env.SOAK_WARMUP_MINUTES ?? Math.min(5, MINUTES / 6))
const RATE = Number(process.env.SOAK_RATE ?? 2000)
const WRITES = Number(process.env.SOAK_WRITES ?? 5)
const WINDOW_S = 10
const USERS = 500
const GROUPS = 50

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const percentile = (sorted: Float64Array, q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))])

const stack = await startStack()
const seeded = await seed(stack.url, { users: USERS, groups: GROUPS, projectsPerGroup: 4, tokens: 20_000 })
const sink = fork(here('./smtp-sink.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const sinkPort = await new Promise<number>((resolve) => sink.once('message', (m) => resolve((m as { port: number }).port)))
const env = apiEnv(stack, { SMTP_URL: `smtp://127.0.0.1:${sinkPort}` })
const api = await startServer(here('../src/server.js'), env)
const worker = fork(here('../src/worker.js'), [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
// Whatever happens below, no server is left running.
process.once('exit', () => {
  for (const child of [api.child, worker, sink]) if (child.exitCode === null) child.kill('SIGKILL')
})
process.once('uncaughtException', (err) => {
  console.error(err)
  void stack.stop().finally(() => process.exit(1))
})
const base = `http://127.0.0.1:${api.port}`

// The questions: a token of the pool (seeded or created here), mostly allowed, some not.
interface Question {
  token: string
  project: number
}
const pool: Question[] = seeded.secrets.map((token, i) => ({ token, project: seeded.projects[i] }))
const firstProject = GROUPS + 1
const jwt = await serviceJwt()
const body = () => {
  const q = pool[Math.floor(Math.random() ** 2 * pool.length)] // skewed: some tokens much busier than others
  const r = Math.random()
  if (r < 0.8) return JSON.stringify({ token: q.token, permission: r < 0.6 ? 'read_code' : 'push_code', resource: { type: 'project', id: q.project } })
  if (r < 0.9) return JSON.stringify({ token: q.token, permission: 'create_merge_request', resource: { type: 'project', id: q.project } })
  return JSON.stringify({ token: q.token, permission: 'read_code', resource: { type: 'project', id: firstProject + Math.floor(Math.random() * GROUPS * 4) } })
}

// Per-window latencies and counts.
let times = new Float64Array(1 << 16)
let n = 0
let fiveXX = 0
let answered = 0
const windows: { minute: number; rps: number; p50: number; p99: number; apiRss: number; workerRss: number }[] = []
const started = Date.now()

const instance = autocannon({
  url: `${base}/api/v4/authorize`, connections: 20, overallRate: RATE, duration: MINUTES * 60,
  requests: [{ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, setupRequest: (req) => ({ ...req, body: body() }) }],
}, () => undefined)
instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
  answered++
  if (status >= 500) fiveXX++
  if (n === times.length) {
    const bigger = new Float64Array(times.length * 2)
    bigger.set(times)
    times = bigger
  }
  times[n++] = ms
})
const sampler = setInterval(() => {
  const sorted = times.subarray(0, n).sort()
  windows.push({
    minute: (Date.now() - started) / 60_000, rps: n / WINDOW_S, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99),
    apiRss: rssMb(api.child.pid!), workerRss: rssMb(worker.pid!),
  })
  const w = windows[windows.length - 1]
  console.error(`[soak] ${w.minute.toFixed(1)} min: ${Math.round(w.rps)} req/s, p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms, API RSS ${w.apiRss.toFixed(0)} MB, worker RSS ${w.workerRss.toFixed(0)} MB, 5xx ${fiveXX}, writes ${JSON.stringify(writes)}`)
  n = 0
}, WINDOW_S * 1000)

// Writes: tokens created here are rotated and revoked later; each revocation is checked a second after it answered.
const writes = { created: 0, rotated: 0, revoked: 0, failed: 0, staleAllows: 0 }
const mine: { id: number; user: number; token: string }[] = []
const userJwt = new Map<number, string>()
const asUser = async (user: number) => {
  if (!userJwt.has(user)) userJwt.set(user, await signDevJwt({ secret: JWT_SECRET, sub: String(user), expiresIn: '4h' }))
  return { authorization: `Bearer ${userJwt.get(user)}` }
}
const expires = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10)
async function writeOnce(): Promise<void> {
  const r = Math.random()
  if (r < 0.5 || mine.length < 10) {
    const user = 1 + Math.floor(Math.random() * USERS)
    const group = 1 + (user % GROUPS)
    const res = await fetch(`${base}/api/v4/user/personal_access_tokens`, {
      method: 'POST', headers: { ...(await asUser(user)), 'content-type': 'application/json' },
      body: JSON.stringify({ name: `soak ${writes.created}`, expires_at: expires, granular_scopes: [{ access: 'selected_memberships', group_ids: [group], permissions: ['read_code'] }] }),
    })
    if (res.status >= 500) fiveXX++
    if (res.status !== 201) return void writes.failed++
    const token = (await res.json()) as { id: number; token: string }
    mine.push({ id: token.id, user, token: token.token })
    pool[Math.floor(Math.random() * pool.length)] = { token: token.token, project: firstProject + (group - 1) }
    writes.created++
    return
  }
  const [victim] = mine.splice(Math.floor(Math.random() * mine.length), 1)
  if (r < 0.75) {
    const res = await fetch(`${base}/api/v4/personal_access_tokens/${victim.id}/rotate`, { method: 'POST', headers: { ...(await asUser(victim.user)), 'content-type': 'application/json' }, body: '{}' })
    if (res.status >= 500) fiveXX++
    if (res.status !== 200) return void writes.failed++
    const next = (await res.json()) as { id: number; token: string }
    mine.push({ id: next.id, user: victim.user, token: next.token })
    writes.rotated++
    return
  }
  const res = await fetch(`${base}/api/v4/personal_access_tokens/${victim.id}`, { method: 'DELETE', headers: await asUser(victim.user) })
  if (res.status >= 500) fiveXX++
  if (res.status !== 204) return void writes.failed++
  writes.revoked++
  setTimeout(() => void checkDenied(victim.token, 1 + (victim.user % GROUPS)), 1000)
}
async function checkDenied(token: string, group: number): Promise<void> {
  const res = await fetch(`${base}/api/v4/authorize`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify({ token, permission: 'read_code', resource: { type: 'project', id: firstProject + (group - 1) } }),
  })
  if (res.status >= 500) fiveXX++
  if (res.status === 200 && ((await res.json()) as { allowed: boolean }).allowed) writes.staleAllows++
}
const writer = setInterval(() => void writeOnce().catch(() => writes.failed++), 1000 / WRITES)

await new Promise((resolve) => instance.on('done', resolve))
clearInterval(writer)
clearInterval(sampler)
await new Promise((r) => setTimeout(r, 2000)) // the last revocation checks
const mails = await new Promise<number>((resolve) => {
  sink.once('message', (m) => resolve((m as { count: number }).count))
  sink.send('count')
})
await api.stop()
worker.kill('SIGTERM')
sink.kill()
await stack.stop()

// RSS after warm-up against the end, by the lowest 10 s sample of the first and the last five
// minutes: the floor the garbage collector brings the heap back to. RSS saw-tooths by up to ±60 MB
// within a minute here (the old generation grows until a major GC), so means of one minute swung
// ±10% with GC timing alone; a leak raises the floor (the former decision memo's leak was found here: +60 MB a minute).
const after = windows.filter((w) => w.minute >= WARMUP_MINUTES)
const segmentWindows = 5 * (60 / WINDOW_S)
const mean = (ws: typeof windows, f: (w: (typeof windows)[number]) => number) => ws.reduce((a, w) => a + f(w), 0) / Math.max(1, ws.length)
const floor = (ws: typeof windows) => Math.min(...ws.map((w) => w.apiRss))
const first = after.slice(0, segmentWindows)
const last = after.slice(-segmentWindows)
const rssStart = floor(first)
const rssEnd = floor(last)
const growth = (rssEnd - rssStart) / rssStart
const meanGrowth = (mean(last, (w) => w.apiRss) - mean(first, (w) => w.apiRss)) / mean(first, (w) => w.apiRss)
const segments: string[] = []
for (let i = 0; i < after.length; i += segmentWindows) {
  const seg = after.slice(i, i + segmentWindows)
  segments.push(`| ${seg[0].minute.toFixed(0)}–${seg[seg.length - 1].minute.toFixed(0)} min | ${Math.round(mean(seg, (w) => w.rps))} | ${mean(seg, (w) => w.p50).toFixed(2)} | ${mean(seg, (w) => w.p99).toFixed(2)} | ${Math.max(...seg.map((w) => w.p99)).toFixed(2)} | ${floor(seg).toFixed(0)} / ${mean(seg, (w) => w.apiRss).toFixed(0)} / ${Math.max(...seg.map((w) => w.apiRss)).toFixed(0)} | ${mean(seg, (w) => w.workerRss).toFixed(0)} |`)
}
console.log([
  '',
  `Soak: ${MINUTES} min at ${RATE} req/s offered (${WARMUP_MINUTES} min warm-up), ${WRITES} writes/s; ${answered} answers, ${fiveXX} × 5xx, writes ${JSON.stringify(writes)}, ${mails} mails accepted`,
  '',
  '| after warm-up | req/s | p50 ms | p99 ms (mean of 10 s windows) | worst 10 s p99 ms | API RSS MB (lowest / mean / highest) | worker RSS MB |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...segments,
  '',
  `API RSS floor (lowest sample) of the first five minutes after warm-up ${rssStart.toFixed(0)} MB → of the last five ${rssEnd.toFixed(0)} MB: ${(growth * 100).toFixed(1)}% (limit 10%); by the means ${(meanGrowth * 100).toFixed(1)}%`,
  '',
].join('\n'))
if (fiveXX > 0 || writes.staleAllows > 0 || growth >= 0.1) process.exitCode = 1
