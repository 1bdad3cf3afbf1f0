// The four runs of the /authorize benchmark, in one process tree: (a) ceiling, (b) warm L1,
// (c) L1 off (Redis hits), (d) cold tokens (first sight: PostgreSQL).
import { fileURLToPath } from 'node:url'
import { apiEnv, hitRates, load, type Measured, serverProcesses, serviceJwt, startServer, table, tokenLookups } from './lib.js'

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))

export async function runSuite(stack: { url: string; redisUrl: string }, seeded: { secrets: string[]; projects: number[] }, o: { hot: number; seconds: number; label: string }) {
  const jwt = await serviceJwt()
  const body = (i: number) => JSON.stringify({ token: seeded.secrets[i], permission: 'read_code', resource: { type: 'project', id: seeded.projects[i] } })
  const hotBody = () => body(Math.floor(Math.random() * o.hot))
  // check a request answers allowed before measuring anything
  const rows: Measured[] = []

  // BENCH_ONLY=warm runs just (a) and (b), e.g. to profile (b) with BENCH_PROFILE; BENCH_ONLY=redis
  // just (a) and (c).
  const only = process.env.BENCH_ONLY
  // The ceiling and the warm API alternate BENCH_ROUNDS times (default 3); the median round by
  // ratio is reported, as the host's speed drifts between runs.
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
  const ceiling = await startServer(here('./ceiling-server.js'), serverProcesses())
  // Warm-ups long enough for V8 to settle on optimized code (the first seconds still recompile).
  const warmUp = Number(process.env.BENCH_WARMUP_SECONDS ?? 5)
  await load('warm-up', ceiling.port, jwt, hotBody, warmUp)
  if (only === 'redis') {
    const c = await load('(a) ceiling: bare Fastify, same JSON body', ceiling.port, jwt, hotBody, o.seconds, ceiling.child.pid)
    await ceiling.stop()
    const redis = await redisTier()
    console.log(table([c, redis]))
    return { rows: [c, redis], text: table([c, redis]) }
  }
  const api = await startServer(here('../src/server.js'), apiEnv(stack))
  await expectAllowed(api.port)
  await load('warm-up', api.port, jwt, hotBody, warmUp)
  const pairs: Array<[Measured, Measured]> = []
  for (let round = 0; round < rounds; round++) {
    const c = await load('(a) ceiling: bare Fastify, same JSON body', ceiling.port, jwt, hotBody, o.seconds, ceiling.child.pid)
    const before = await tokenLookups(api.port)
    const w = await load('(b) /authorize, warm L1', api.port, jwt, hotBody, o.seconds, api.child.pid)
    w.hits = hitRates(before, await tokenLookups(api.port))
    pairs.push([c, w])
    if (rounds > 1) console.error(`[bench] round ${round + 1}: ceiling ${Math.round(c.rps)} req/s (${c.serverCpuUs?.toFixed(1)} µs/req), warm ${Math.round(w.rps)} req/s (${w.serverCpuUs?.toFixed(1)} µs/req), ratio ${(w.rps / c.rps).toFixed(2)}, p99 ${(w.p99 / c.p99).toFixed(2)}×`)
  }
  await ceiling.stop()
  pairs.sort((x, y) => x[1].rps / x[0].rps - y[1].rps / y[0].rps)
  rows.push(...pairs[Math.floor((pairs.length - 1) / 2)])

  if (only === 'warm') {
    await api.stop()
    console.log(table(rows))
    return { rows, text: table(rows) }
  }
  // (d) cold: every request a token this process has never seen (sequential over the pool)
  let next = o.hot
  const coldBody = () => body(next++ % seeded.secrets.length)
  const before = await tokenLookups(api.port)
  const cold = await load('(d) /authorize, cold tokens (PostgreSQL)', api.port, jwt, coldBody, o.seconds, api.child.pid)
  cold.hits = hitRates(before, await tokenLookups(api.port))
  if (next > seeded.secrets.length) console.error(`[bench] warning: the cold run wrapped around the token pool (${next} requests)`)
  await api.stop()

  const redis = await redisTier()

  const ordered = [rows[0], rows[1], redis, cold]
  const text = `### ${o.label}\n\n${table(ordered)}\n`
  console.log(text)
  return { rows: ordered, text }

  async function expectAllowed(port: number) {
    const probe = await fetch(`http://127.0.0.1:${port}/api/v4/authorize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: body(0) })
    const answer = (await probe.json()) as { allowed: boolean; reason: string }
    if (!answer.allowed) throw new Error(`the seeded token is not allowed: ${JSON.stringify(answer)}`)
  }

  // (c) a process with L1 off: every entry from the Redis policy table.
  async function redisTier(): Promise<Measured> {
    const redisOnly = await startServer(here('../src/server.js'), apiEnv(stack, { CACHE_L1: 'false' }))
    await expectAllowed(redisOnly.port)
    await load('warm-up', redisOnly.port, jwt, hotBody, warmUp)
    const before = await tokenLookups(redisOnly.port)
    const measured = await load('(c) /authorize, L1 off (Redis)', redisOnly.port, jwt, hotBody, o.seconds, redisOnly.child.pid)
    measured.hits = hitRates(before, await tokenLookups(redisOnly.port))
    await redisOnly.stop()
    return measured
  }
}
