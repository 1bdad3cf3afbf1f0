// `npm run bench:ab`: two API processes side by side — two builds, or one build with two sets of
// node flags — serving the realistic mix's reads at the same time, each at the same fixed rate from
// its own autocannon. A change is judged by the ratio of their CPU per request in the same seconds:
// on this machine one process's CPU per request moves 30-50% between runs minutes apart, while two
// processes measured together move within a few percent of each other (bench/README.md).
//
//   BENCH_AB_A_DIST / BENCH_AB_B_DIST   a build's dist folder (default: this one's); both must run on
//                                        the same schema (migrations run from this build)
//   BENCH_AB_A_NODE_ARGS / BENCH_AB_B_NODE_ARGS   node flags of that process only, after the launchers'
//                                        (src/gc-tuning.ts), so they override those: V8's own young
//                                        generation is --min-semi-space-size=1 --max-semi-space-size=16
//                                        on Node 20 (0/0 does not restore it: bench/README.md)
//   BENCH_RATE=3000       req/s offered to each process (both get the same)
//   BENCH_SECONDS=10      per round;  BENCH_ROUNDS=5 per order;  BENCH_WARMUP_SECONDS=10;  BENCH_TOKENS=5000
//   BENCH_AB_WORKLOAD=mix the mix's reads (Zipf tokens, a new question each time); `warm`: what
//                         bench:authorize's warm path asks, one question per token, cycling over
//                         WARM_TOKENS tokens (repeated questions)
//   BENCH_AB_A_PRIME / BENCH_AB_B_PRIME=0   before the warm-up, that process answers this many passes over
//                                        GET routes of the API's other plugins (tokens, users,
//                                        permissions, policies, health, …): the hot path as it runs in a
//                                        process that serves the whole API, not /authorize alone
//   BENCH_AB_ORDERS=both  both orders: A started first, then (new processes) B started first. Two
//                         single-order runs of one change minutes apart disagreed by 12% (bench/README.md,
//                         "Both orders"): the result is the two orders' geometric mean, which also
//                         cancels any advantage of the process started second. `one`: A first only.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { apiEnv, cpuSeconds, median, type Server, serviceJwt, startServer, startStack } from './lib.js'
import { rng, seedMix, shape, zipf } from './mix-data.js'
import { bodyOf, Model, userAuth } from './mix-model.js'

const env = process.env
const RATE = Number(env.BENCH_RATE ?? 3000)
const SECONDS = Number(env.BENCH_SECONDS ?? 10)
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 5))
const WARMUP = Number(env.BENCH_WARMUP_SECONDS ?? 10)
const CONNECTIONS = 25 // per process
const WARM = env.BENCH_AB_WORKLOAD === 'warm'
const WARM_TOKENS = 1000

const thisDist = resolve(fileURLToPath(new URL('..', import.meta.url)))
const sides = (['A', 'B'] as const).map((name) => ({
  name,
  dist: resolve(env[`BENCH_AB_${name}_DIST`] || thisDist),
  nodeArgs: (env[`BENCH_AB_${name}_NODE_ARGS`] ?? '').split(' ').filter(Boolean),
  prime: Number(env[`BENCH_AB_${name}_PRIME`] ?? 0),
}))
const label = (side: (typeof sides)[number]) => `${side.dist === thisDist ? 'this build' : side.dist}${side.nodeArgs.length ? `, ${side.nodeArgs.join(' ')}` : ''}${side.prime ? `, primed with ${side.prime} passes over other routes` : ''}`

const s = shape(Number(env.BENCH_TOKENS ?? 5000))
const pick = zipf(s.tokens, 1.1)
const model = new Model(s, true)
const headers = { 'content-type': 'application/json', authorization: `Bearer ${await serviceJwt()}` }

interface Round { cpuUs: number; requests: number; p99: number; failed: number }

/** Both processes loaded at once; each one's server CPU per answered request. */
async function round(servers: Server[], seconds: number): Promise<Round[]> {
  const before = servers.map((sv) => cpuSeconds(sv.child.pid!))
  const results = await Promise.all(servers.map((sv, i) => new Promise<autocannon.Result>((done, fail) => {
    let connection = 0
    autocannon({
      url: `http://127.0.0.1:${sv.port}/api/v4/authorize`, connections: CONNECTIONS, duration: seconds, overallRate: RATE,
      requests: [{
        method: 'POST', headers,
        // the same sequences on both sides: connection k of A asks what connection k of B asks
        setupRequest: (req: any, context: any) => {
          context.random ??= rng(0x9e3779b9 ^ (++connection * 7919))
          if (WARM) {
            // token k always gets the same question (a PRNG seeded by k), the tokens in turn
            context.next = ((context.next ?? connection * 37) % WARM_TOKENS) + 1
            return { ...req, body: bodyOf(model.question(context.next, rng(context.next))) }
          }
          return { ...req, body: bodyOf(model.question(pick(context.random()), context.random)) }
        },
      }],
    } as autocannon.Options, (err, result) => (err ? fail(err) : done(result)))
  })))
  return servers.map((sv, i) => ({
    cpuUs: ((cpuSeconds(sv.child.pid!) - before[i]) * 1e6) / Math.max(1, results[i].requests.total),
    requests: results[i].requests.total, p99: results[i].latency.p99, failed: results[i].errors + results[i].non2xx,
  }))
}

// Read-only routes of other plugin contexts (each has its own Request and Reply classes in Fastify).
const PRIME_PATHS = env.BENCH_AB_PRIME_PATHS ? env.BENCH_AB_PRIME_PATHS.split(',') : ['/health', '/api/v4/permissions', '/api/v4/permissions/categories', '/api/v4/user', '/api/v4/personal_access_tokens',
  '/api/v4/personal_access_tokens/self/associations', '/api/v4/personal_access_token_templates', '/api/v4/application/settings/personal_access_tokens',
  '/api/v4/groups/1/personal_access_token_policy', '/api/v4/audit_events']

const PRIME_WRITES = env.BENCH_AB_PRIME_PATHS === 'creations'
const primeExpiry = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10)

/**
 * `passes` rounds of GETs over PRIME_PATHS as a directory user (some answer 403/404: the route still
 * runs), or with BENCH_AB_PRIME_PATHS=creations one token creation per pass, as the mix's writes
 * make them (a new token: no answer about the seeded tokens changes).
 */
async function prime(server: Server, passes: number): Promise<void> {
  for (let i = 0; i < passes; i++) {
    if (PRIME_WRITES) {
      const token = model.token(1 + (i % s.tokens))
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v4/user/personal_access_tokens`, {
        method: 'POST', headers: { authorization: await userAuth(token.user), 'content-type': 'application/json' },
        body: JSON.stringify({ name: `prime ${i}`, expires_at: primeExpiry, granular_scopes: [{ access: 'selected_memberships', group_ids: [token.group], permissions: token.permissions }] }),
      })
      if (res.status !== 201) throw new Error(`priming creation answered ${res.status}: ${await res.text()}`)
      continue
    }
    const auth = await userAuth(1)
    await Promise.all(PRIME_PATHS.map(async (path) => (await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { authorization: auth } })).arrayBuffer()))
  }
}

/** Resident memory of a process in MB (VmRSS), e.g. to weigh a heap flag's cost. */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

type Side = (typeof sides)[number]
interface Order { first: Side; ratios: number[]; lines: string[]; rss: string }

/** One order: both processes started (`first` first), warmed up, then ROUNDS rounds; ratios are B / A by build. */
async function runOrder(stack: Awaited<ReturnType<typeof startStack>>, first: Side): Promise<Order> {
  const started = first === sides[0] ? sides : [sides[1], sides[0]]
  const servers: Server[] = []
  try {
    for (const side of started) servers.push(await startServer(resolve(side.dist, 'src/server.js'), apiEnv(stack, { WEB_CONCURRENCY: '1' }), side.nodeArgs))
    for (let i = 0; i < started.length; i++) if (started[i].prime > 0) await prime(servers[i], started[i].prime)
    await round(servers, WARMUP)
    const ratios: number[] = []
    const lines: string[] = []
    for (let r = 1; r <= ROUNDS; r++) {
      const measured = await round(servers, SECONDS)
      const [a, b] = first === sides[0] ? measured : [measured[1], measured[0]]
      ratios.push(b.cpuUs / a.cpuUs)
      lines.push(`| ${first.name} first | ${r} | ${a.cpuUs.toFixed(1)} | ${b.cpuUs.toFixed(1)} | ${(b.cpuUs / a.cpuUs).toFixed(3)} | ${a.requests} / ${b.requests} | ${a.p99} / ${b.p99} | ${a.failed} / ${b.failed} |`)
      console.error(`[bench] ${first.name} first, round ${r}: A ${a.cpuUs.toFixed(1)} µs/req, B ${b.cpuUs.toFixed(1)} µs/req`)
    }
    const rssOf = (side: Side) => rssMb(servers[started.indexOf(side)].child.pid!).toFixed(0)
    return { first, ratios, lines, rss: `A ${rssOf(sides[0])} MB, B ${rssOf(sides[1])} MB` }
  } finally {
    for (const sv of servers) await sv.stop()
  }
}

const stack = await startStack()
try {
  await seedMix(stack.url, s)
  const orders: Order[] = []
  for (const first of env.BENCH_AB_ORDERS === 'one' ? [sides[0]] : sides) orders.push(await runOrder(stack, first))
  const medians = orders.map((o) => median(o.ratios))
  const all = orders.flatMap((o) => o.ratios)
  // With A first, B / A = change × bias; with B first, change / bias (bias: what being started second gives).
  const summary = orders.length === 2
    ? [
      `Median B / A with A started first: ${medians[0].toFixed(3)}; with B started first: ${medians[1].toFixed(3)}.`,
      `**B / A: ${Math.sqrt(medians[0] * medians[1]).toFixed(3)}** (the geometric mean of the two orders; below 1: B spends less CPU per request). ` +
        `The process started second ran ${Math.sqrt(medians[0] / medians[1]).toFixed(3)}× the CPU of the first, whichever build it was.`,
    ]
    : [`Median B / A: **${medians[0].toFixed(3)}** (range ${Math.min(...all).toFixed(3)}–${Math.max(...all).toFixed(3)}; A started first only: one sample of the machine's drift, and no check of the start order).`]
  console.log([
    `### A/B, ${WARM ? `warm: one question per token, ${WARM_TOKENS} tokens in turn` : `the mix's reads over ${s.tokens.toLocaleString('en')} tokens`}, ${RATE} req/s to each, ${new Date().toISOString().slice(0, 10)}`, '',
    `A: ${label(sides[0])}; B: ${label(sides[1])}`, '',
    '| order | round | A µs/req | B µs/req | B / A | requests A / B | p99 ms A / B | failed A / B |',
    '|---|---:|---:|---:|---:|---|---|---|',
    ...orders.flatMap((o) => o.lines), '',
    ...summary,
    `Resident memory after the last round: ${orders.map((o) => `${o.first.name} first: ${o.rss}`).join('; ')}.`,
  ].join('\n'))
} finally {
  await stack.stop()
}
