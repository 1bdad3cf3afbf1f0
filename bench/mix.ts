// `npm run bench:mix`: /authorize under a realistic mix (issue 17, parts 1 and 3), against the bare
// Fastify ceiling measured in the same run. See bench/README.md, "The realistic mix".
//
//   BENCH_TOKENS=5000     seeded tokens (users and projects scale with it: see mix-data.ts)
//   BENCH_SECONDS=10      per measured run;  BENCH_ROUNDS=3  ceiling/mix alternations (median round)
//   BENCH_WARMUP_SECONDS=5
//   BENCH_ONLY=ceiling|mix|replicas|propagation   one part only (default: all)
//   BENCH_PROPAGATION_REVOKES=200
//   BENCH_FAULT=skip-removals   record removals without making them: stale allows must be counted
//   BENCH_WRITE_SHARE=0.01   writes per read answered (0: reads alone)
//   BENCH_RATE=0             req/s offered to each tier, ceiling and API alike (0: as fast as each answers)
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { apiEnv, cpuSeconds, hitRates, type Measured, serviceJwt, startServer, startStack, type Server, table, tokenLookups } from './lib.js'
import { projectOf, rng, seedMix, shape, zipf } from './mix-data.js'
import { bodyOf, Model, userAuth, type WriteKind, Writer } from './mix-model.js'

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))
const env = process.env
const TOKENS = Number(env.BENCH_TOKENS ?? 5000)
const SECONDS = Number(env.BENCH_SECONDS ?? 10)
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3))
const WARMUP = Number(env.BENCH_WARMUP_SECONDS ?? 5)
const ONLY = env.BENCH_ONLY
const REVOKES = Number(env.BENCH_PROPAGATION_REVOKES ?? 200)
const CONNECTIONS = 50
const WRITE_SHARE = Number(env.BENCH_WRITE_SHARE ?? 0.01) // 0 to see the reads alone
const RATE = Number(env.BENCH_RATE ?? 0) // req/s offered to each tier (0: as fast as it answers)

const s = shape(TOKENS)
const pick = zipf(s.tokens, 1.1)
const jwt = await serviceJwt()
const authHeaders = { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }

/** One process tier under test: one or more ports (the load split evenly), the pids whose CPU counts. */
interface Target {
  name: string
  servers: Server[]
  /** Separate processes answer (cluster workers or instances): removals may take the pub/sub delay. */
  multiProcess: boolean
  /**
   * A process that takes the writes and none of the reads (the hot path served apart): its CPU
   * counts with the others', and the reads' own CPU per read is reported beside (readsCpuUs).
   */
  writesTo?: Server
}

const model = new Model(s, true)
let writer: Writer
let checkerActive = false
/** /authorize requests the checker sent: served by the measured processes beside autocannon's. */
let checkerRequests = 0
let writesStarted = 0
/** For a target whose writes go to a process of their own: the reads' processes' CPU per read (µs). */
const readsCpuUs = new WeakMap<Measured, number>()

/** autocannon on every port of the target at once, CONNECTIONS split between them; the mix's writes run beside it when `writes`. */
async function run(name: string, target: Target, seconds: number, o: { writes: boolean; ceiling?: boolean; stop?: Promise<void> }): Promise<Measured> {
  const readPids = target.servers.map((sv) => sv.child.pid!)
  const writePid = target.writesTo?.child.pid
  const readsCpu = () => readPids.reduce((a, p) => a + cpuSeconds(p), 0)
  const writesCpu = () => (writePid === undefined ? 0 : cpuSeconds(writePid))
  const readCpuBefore = readsCpu()
  const cpuBefore = readCpuBefore + writesCpu()
  const checkerBefore = checkerRequests
  const sideBefore = checkerRequests + (writer?.requests ?? 0)
  const before = o.ceiling ? undefined : await lookups(target)
  let times = new Float64Array(1 << 20)
  let n = 0
  let reads = 0
  let connectionSeed = 0
  const instances: autocannon.Instance[] = []
  const results = target.servers.map((server, i) => new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: `http://127.0.0.1:${server.port}/api/v4/authorize`,
      connections: Math.round(CONNECTIONS / target.servers.length),
      duration: seconds,
      ...(RATE > 0 ? { overallRate: RATE / target.servers.length } : {}),
      requests: [{
        method: 'POST', headers: authHeaders,
        // each connection walks its own sequence: its own PRNG, seeded once per connection
        setupRequest: (req: any, context: any) => {
          context.random ??= rng(0x9e3779b9 ^ (++connectionSeed * 7919 + i))
          const q = model.question(pick(context.random()), context.random)
          context.q = q
          return { ...req, body: bodyOf(q) }
        },
        onResponse: (status: number, body: string, context: any) => {
          reads++
          if (status === 200 && !o.ceiling) model.check(context.q, body.includes('"allowed":true'), target.name, body)
        },
      }],
    } as autocannon.Options, (err, result) => (err ? reject(err) : resolve(result)))
    instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => {
      if (n === times.length) {
        const bigger = new Float64Array(times.length * 2)
        bigger.set(times)
        times = bigger
      }
      times[n++] = ms
    })
    instances.push(instance)
  }))
  void o.stop?.then(() => instances.forEach((x) => x.stop()))
  let writing = o.writes
  writesStarted = 0
  const writers = o.writes ? Array.from({ length: 4 }, () => writeLoop(() => writing, () => reads)) : []
  const all = await Promise.all(results)
  writing = false
  await Promise.all(writers)
  // Per request the processes served: autocannon's, the checker's and the writes' (a write's own CPU
  // is far above a read's: the with-writes row includes it, spread over every request).
  const served = n + (o.ceiling ? 0 : checkerRequests + (writer?.requests ?? 0) - sideBefore)
  const readCpu = readsCpu()
  const serverCpuUs = served > 0 ? ((readCpu + writesCpu() - cpuBefore) * 1e6) / served : undefined
  const sorted = times.subarray(0, n).sort()
  const at = (q: number) => (n === 0 ? 0 : Number(sorted[Math.min(n - 1, Math.floor(q * n))].toFixed(2)))
  const m: Measured = {
    name, rps: all.reduce((a, r) => a + r.requests.average, 0), p50: at(0.5), p99: at(0.99),
    errors: all.reduce((a, r) => a + r.errors, 0), non2xx: all.reduce((a, r) => a + r.non2xx, 0), serverCpuUs,
  }
  // the reads' processes served autocannon's requests and the checker's, none of the writes
  if (target.writesTo) readsCpuUs.set(m, ((readCpu - readCpuBefore) * 1e6) / (n + checkerRequests - checkerBefore))
  if (before) m.hits = hitRates(before, await lookups(target))
  return m
}

/** Sum of every server's /metrics (with node:cluster, /metrics is one worker's: the hit rates are that worker's). */
async function lookups(target: Target): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const sv of target.servers) for (const [k, v] of Object.entries(await tokenLookups(sv.port))) out[k] = (out[k] ?? 0) + v
  return out
}

const KINDS: WriteKind[] = ['create', 'rotate', 'revoke', 'membership']
/** Keeps writes at WRITE_SHARE of the reads answered, on Zipf-picked slots (busy tokens get written too). */
async function writeLoop(active: () => boolean, reads: () => number) {
  const random = rng(Math.floor(Math.random() * 2 ** 31))
  while (active()) {
    if (writesStarted >= reads() * WRITE_SHARE) {
      await new Promise((r) => setTimeout(r, 5))
      continue
    }
    const slot = pick(random())
    // not a token already removed (its replacement may have failed) nor one whose owner is out of
    // the group for a second (creating a token there is refused: no_membership)
    const token = model.token(slot)
    const owner = model.users.get(token.user)
    if (model.busy.has(slot) || token.removedAt !== undefined || owner?.unsure || owner?.removedAt !== undefined) {
      await new Promise((r) => setImmediate(r))
      continue
    }
    writesStarted++
    await writer.write(slot, KINDS[Math.floor(random() * KINDS.length)])
  }
}

/**
 * The checker beside the load: after each removal, asks every port of the target about the removed
 * access every 20 ms for 1.5 s, so that a removal is checked even when Zipf does not pick it again.
 */
function startChecker(target: Target) {
  checkerActive = true
  writer.onRemoval = (question) => {
    const until = Date.now() + 1500
    const poll = async () => {
      while (checkerActive && Date.now() < until) {
        for (const sv of target.servers) {
          const q = question()
          checkerRequests++
          const res = await fetch(`http://127.0.0.1:${sv.port}/api/v4/authorize`, { method: 'POST', headers: authHeaders, body: bodyOf(q) })
          const text = await res.text()
          if (res.status === 200) model.check(q, text.includes('"allowed":true'), `${target.name} (checker)`)
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    void poll().catch((err) => console.error(`[bench] checker: ${(err as Error).message}`))
  }
}

async function warm(target: Target, ceiling = false) {
  await run('warm-up', target, WARMUP, { writes: false, ceiling })
}

function summary(label: string) {
  const c = model.counts
  const lags = [...model.crossProcessLags].sort((a, b) => a - b)
  return [
    `${label}: writes ${JSON.stringify(writer.done)}; answers checked ${c.checked}, of which on removed access ${c.expectedDenyChecked};`,
    `stale allows ${model.stale.length}; unexpected allows ${c.unexpectedAllow}, unexpected denies ${c.unexpectedDeny} (answers the model was sure of)`,
    ...(lags.length ? [`allows of removed access on another process than the one written to: ${lags.length} (those over 1,000 ms are the stale allows above; lag p50 ${lags[Math.floor(lags.length / 2)]} ms, max ${lags[lags.length - 1]} ms)`] : []),
    ...model.stale.slice(0, 20).map((x) => `  STALE ALLOW on ${x.target}: ${x.what}; removal answered at ${new Date(x.removedAt).toISOString()}, asked ${x.sentAt - x.removedAt} ms later, allowed ${x.answeredAt - x.removedAt} ms after the removal`),
    ...writer.failures.map((f) => `  write failed: ${f}`),
    ...model.surprises.map((x) => `  unexpected: ${x}`),
  ].join('\n')
}

/** As `uptime` prints it: the numbers are not final on a busy machine. */
const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`

const stack = await startStack()
const out: string[] = []
try {
  const t0 = Date.now()
  await seedMix(stack.url, s)
  console.error(`[bench] seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const api = (extra: Record<string, string> = {}) => startServer(here('../src/server.js'), apiEnv(stack, { WEB_CONCURRENCY: '1', ...extra }))
  const date = new Date().toISOString().slice(0, 10)
  out.push(`### Realistic mix, ${TOKENS.toLocaleString('en')} tokens (${s.users.toLocaleString('en')} users, ${s.projects.toLocaleString('en')} projects in ${s.groups} groups), ${date}`, '')

  // (1) one API process vs the ceiling, alternating rounds, median round by ratio
  if (!ONLY || ONLY === 'ceiling' || ONLY === 'mix') {
    const ceiling: Target = { name: 'ceiling', servers: [await startServer(here('./ceiling-server.js'), { WEB_CONCURRENCY: '1' })], multiProcess: false }
    model.startPart(true)
    await warm(ceiling, true)
    let one: Target | undefined
    if (ONLY !== 'ceiling') {
      one = { name: 'one process', servers: [await api()], multiProcess: false }
      writer = new Writer(model, () => `http://127.0.0.1:${one!.servers[0].port}`)
      startChecker(one)
      await warm(one)
    }
    const pairs: Measured[][] = []
    for (let round = 0; round < ROUNDS; round++) {
      const c = await run('(a) ceiling: bare Fastify, same JSON body', ceiling, SECONDS, { writes: false, ceiling: true })
      if (!one) { pairs.push([c]); console.error(`[bench] round ${round + 1}: ceiling ${c.serverCpuUs?.toFixed(1)} µs/req`); continue }
      const r = await run('(b) /authorize, realistic mix, reads only', one, SECONDS, { writes: false })
      const m = await run(`(c) /authorize, realistic mix, ${WRITE_SHARE * 100}% writes`, one, SECONDS, { writes: WRITE_SHARE > 0 })
      pairs.push([c, r, m])
      console.error(`[bench] round ${round + 1}: ceiling ${Math.round(c.rps)} req/s ${c.serverCpuUs?.toFixed(1)} µs/req; reads only ${Math.round(r.rps)} req/s ${r.serverCpuUs?.toFixed(1)} µs/req; with writes ${Math.round(m.rps)} req/s ${m.serverCpuUs?.toFixed(1)} µs/req (${load()})`)
    }
    pairs.sort((x, y) => (x[2] ? x[2].rps / x[0].rps : x[0].rps) - (y[2] ? y[2].rps / y[0].rps : y[0].rps))
    const median = pairs[Math.floor((pairs.length - 1) / 2)]
    checkerActive = false
    await new Promise((r) => setTimeout(r, 1600))
    out.push(`One API process (median of ${ROUNDS} rounds of ${SECONDS} s, ${load()}):`, '', table(median), '')
    const cpu = (m: Measured) => (median[0].serverCpuUs! / m.serverCpuUs!).toFixed(2)
    if (median[2]) out.push(`Server CPU per request, ceiling / mix: reads only ${cpu(median[1])}×, with writes ${cpu(median[2])}× (goal ≥ 0.5×; the writes' own CPU is in the second). Rounds (ceiling / reads only / with writes µs): ${pairs.map((p) => p.map((m) => m.serverCpuUs?.toFixed(0)).join(' / ')).join('; ')}`, '', summary('Writes and answers'), '')
    for (const sv of [...ceiling.servers, ...(one?.servers ?? [])]) await sv.stop()
  }

  // (2) many replicas: WEB_CONCURRENCY=2 on one port, and two instances on two ports
  if (!ONLY || ONLY === 'replicas') {
    const ceiling2: Target = { name: 'ceiling ×2', servers: [await startServer(here('./ceiling-server.js'), { WEB_CONCURRENCY: '2' })], multiProcess: true }
    await warm(ceiling2, true)
    const c = await run('(a) ceiling, WEB_CONCURRENCY=2', ceiling2, SECONDS, { writes: false, ceiling: true })
    await ceiling2.servers[0].stop()
    const rows: Measured[] = [c]
    const summaries: string[] = []
    for (const [label, target] of [
      ['(c) mix, WEB_CONCURRENCY=2 (one port)', { name: 'WEB_CONCURRENCY=2', servers: [await api({ WEB_CONCURRENCY: '2' })], multiProcess: true }],
      ['(d) mix, two instances (two ports, load split)', { name: 'two instances', servers: [await api(), await api()], multiProcess: true }],
      // A deployment that routes /authorize to replicas of its own: the reads' process never runs
      // the write routes, whose traffic may turn the code the hot path shares with them (fastify's
      // request path, routing, header parsing) polymorphic for the reads (bench/README.md).
      ['(e) mix, the hot path apart (reads on one instance, writes on the other)', { name: 'hot path apart', servers: [await api()], writesTo: await api(), multiProcess: true }],
    ] as [string, Target][]) {
      model.startPart(false)
      // writes go to the first port (or the writes' own instance): the other hears them over the invalidation channels
      writer = new Writer(model, () => `http://127.0.0.1:${(target.writesTo ?? target.servers[0]).port}`)
      startChecker(target)
      await warm(target)
      const measured = await run(label, target, SECONDS, { writes: true })
      rows.push(measured)
      checkerActive = false
      await new Promise((r) => setTimeout(r, 1600))
      const reads = readsCpuUs.get(measured)
      summaries.push(`${reads === undefined ? '' : `${label}: the reads' instance alone ${reads.toFixed(1)} µs of CPU per read (${(c.serverCpuUs! / reads).toFixed(2)}× the ceiling's per-request CPU); the row counts both instances.\n`}${summary(label)}`)
      for (const sv of [...target.servers, ...(target.writesTo ? [target.writesTo] : [])]) await sv.stop()
    }
    out.push(`Many replicas (one run of ${SECONDS} s each, against the ceiling with WEB_CONCURRENCY=2; ${load()}):`, '', table(rows), '', ...summaries, '')
  }

  // (3) revoke on instance A → deny on instance B, under the mix load on both
  if (!ONLY || ONLY === 'propagation') {
    const a = await api()
    const b = await api()
    const target: Target = { name: 'two instances', servers: [a, b], multiProcess: true }
    model.startPart(false)
    writer = new Writer(model, () => `http://127.0.0.1:${a.port}`)
    startChecker(target)
    await warm(target)
    let release!: () => void
    const stop = new Promise<void>((r) => (release = r))
    const loadRun = run('propagation load', target, 3600, { writes: true, stop })
    const lags = await propagation(a, b)
    release()
    const measured = await loadRun
    checkerActive = false
    const sorted = [...lags].sort((x, y) => x - y)
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]?.toFixed(1)
    out.push(`Revoke on instance A → deny on instance B (${lags.length} revokes under the mix on both, ${Math.round(measured.rps)} req/s; ${load()}): ` +
      `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${sorted[sorted.length - 1]?.toFixed(1)} ms (goal < 100 ms), measured from the revoke's answer to B's first deny`, '', summary('Writes and answers during it'), '')
    await a.stop()
    await b.stop()
  }
} finally {
  await stack.stop()
}
console.log(`\n${out.join('\n')}`)

/**
 * Tokens from the cold end of the ranks (Zipf hardly asks them): each is made warm on B (asked
 * until its entry is in B's cache), revoked on A as its owner, and B is asked in a tight loop until
 * it denies. The lag runs from A's answer to the revoke to B's first deny.
 */
async function propagation(a: Server, b: Server): Promise<number[]> {
  const lags: number[] = []
  let skipped = 0
  for (let k = 0; lags.length < REVOKES && k < s.tokens / 2; k++) {
    const slot = s.tokens - k
    const owner = model.users.get(model.token(slot).user)
    if (model.busy.has(slot) || model.slots.has(slot) || owner?.unsure || owner?.removedAt !== undefined) continue
    model.busy.add(slot)
    const token = model.token(slot)
    model.slots.set(slot, token)
    const ask = async (port: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v4/authorize`, {
        method: 'POST', headers: authHeaders, body: JSON.stringify({ token: token.secret, permission: token.permissions[0], resource: { type: 'project', id: projectOf(s, token.group, 0) } }),
      })
      return ((await res.json()) as { allowed: boolean }).allowed
    }
    // warm on both; a token whose owner the mix's membership writes just removed is skipped
    let allowed = true
    for (let i = 0; i < 3 && allowed; i++) allowed = (await ask(b.port)) && (await ask(a.port))
    if (!allowed) {
      skipped++
      continue
    }
    const res = await fetch(`http://127.0.0.1:${a.port}/api/v4/personal_access_tokens/${token.id}`, { method: 'DELETE', headers: { authorization: await userAuth(token.user) } })
    if (res.status !== 204) throw new Error(`propagation: revoke answered ${res.status}`)
    const answered = performance.now()
    token.removedAt = Date.now()
    token.removedBy = 'revoked (propagation)'
    let polls = 0
    while (await ask(b.port)) {
      if (++polls > 100_000) throw new Error(`propagation: B still allows token ${token.id}`)
    }
    lags.push(performance.now() - answered)
    if (await ask(a.port)) model.stale.push({ what: `token ${token.id} allowed on A after its revoke on A`, removedAt: token.removedAt, sentAt: Date.now(), answeredAt: Date.now(), target: 'A' })
  }
  if (skipped) console.error(`[bench] propagation: ${skipped} tokens skipped (not allowed before the revoke: owner's membership in flux)`)
  return lags
}
