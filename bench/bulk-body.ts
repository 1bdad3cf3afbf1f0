// `npm run bench:bulk`: a maximal POST /directory/bulk (50,000 users, namespaces and memberships,
// names padded so the JSON is just under the 32 MiB limit), sent through the app in-process while
// a 5 ms timer measures how long the event loop is held. Prints the request's total time, its
// longest event-loop block and the peak RSS, then, for comparison, what parsing and validating the
// same body in one go costs (what the route did before).
//
//   BENCH_BULK_MB=31.7   target body size in MiB (at most the limit)
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { signDevJwt } from '../src/auth/dev-jwt.js'
import { loadConfig } from '../src/config.js'
import { disablePretenuring } from '../src/gc-tuning.js'
import { buildValidator } from '../src/http/validation.js'
import { BULK_BODY_LIMIT } from '../src/modules/directory/routes.js'
import { BulkBody } from '../src/modules/directory/schemas.js'
import { JWT_SECRET, PEPPER, startStack } from './lib.js'

const N = 50_000
const MB = 1024 * 1024
const target = Math.min(BULK_BODY_LIMIT, Number(process.env.BENCH_BULK_MB ?? (BULK_BODY_LIMIT - 256 * 1024) / MB) * MB)

function maximalBody(targetBytes: number): string {
  const make = (pad: string) => {
    const users = Array.from({ length: N }, (_, i) => ({ id: i + 1, username: `user${i + 1}`, name: `User ${i + 1} ${pad}`, email: `user${i + 1}@example.com`, state: 'active', is_admin: false }))
    const namespaces: Record<string, unknown>[] = []
    for (let g = 0; namespaces.length < N; g++) {
      const group = 100_000 + namespaces.length
      namespaces.push({ id: group, kind: 'group', path: `group-${g}`, name: `Group ${g} ${pad}`, visibility: 'private' })
      for (let p = 0; p < 9 && namespaces.length < N; p++) namespaces.push({ id: 100_000 + namespaces.length, kind: 'project', path: `project-${p}`, name: `Project ${g}/${p} ${pad}`, parent_id: group })
    }
    const memberships = users.map((u, i) => ({ user_id: u.id, namespace_id: 100_000 + i, access_level: 30, expires_at: null }))
    return JSON.stringify({ users, namespaces: namespaces.reverse(), memberships })
  }
  const padLength = Math.max(0, Math.min(200, Math.floor((targetBytes - Buffer.byteLength(make(''))) / (2 * N))))
  return make('x'.repeat(padLength))
}

const timed = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now()
  const value = fn()
  return [value, performance.now() - t0]
}

disablePretenuring() // as the API server does (src/gc-tuning.ts)
const text = maximalBody(target)
const payload = Buffer.from(text)
console.log(`body: ${(payload.length / MB).toFixed(1)} MiB (limit ${BULK_BODY_LIMIT / MB} MiB), ${N} users + ${N} namespaces + ${N} memberships`)

const stack = await startStack()
const prefix = `bench-bulk-${Date.now()}:`
const config = loadConfig({
  NODE_ENV: 'development', DATABASE_URL: stack.url, REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: prefix,
  TOKEN_PEPPERS: PEPPER, AUTH_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'warn',
})
const app = await buildApp(config)
await app.ready()
await app.db.deleteFrom('memberships').execute()
await app.db.deleteFrom('namespaces').execute()
await app.db.deleteFrom('users').execute()
const authorization = `Bearer ${await signDevJwt({ secret: JWT_SECRET, sub: 'service:bench', scopes: ['directory:write'] })}`

const histogram = monitorEventLoopDelay({ resolution: 10 })
const baseRss = process.memoryUsage.rss()
let peakRss = baseRss
let longestBlock = 0
let longestBusyBlock = 0 // each gap counted only as far as the process had the CPU (shared machines)
let last = performance.now()
let lastCpu = process.cpuUsage()
const probe = setInterval(() => {
  const now = performance.now()
  const cpu = process.cpuUsage(lastCpu)
  longestBlock = Math.max(longestBlock, now - last - 5)
  longestBusyBlock = Math.max(longestBusyBlock, Math.min(now - last - 5, (cpu.user + cpu.system) / 1000))
  last = now
  lastCpu = process.cpuUsage()
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 5)
histogram.enable()
const started = performance.now()
const res = await app.inject({ method: 'POST', url: '/api/v4/directory/bulk', headers: { authorization, 'content-type': 'application/json' }, payload })
const elapsed = performance.now() - started
clearInterval(probe)
histogram.disable()
console.log(`POST /directory/bulk: ${res.statusCode} ${res.body.slice(0, 200)}`)
console.log(`  total ${(elapsed / 1000).toFixed(1)} s; longest event-loop block ${longestBusyBlock.toFixed(1)} ms while the process ran, ${longestBlock.toFixed(1)} ms by the wall clock (histogram max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms)`)
console.log(`  RSS ${(baseRss / MB).toFixed(0)} MiB before, peak ${(peakRss / MB).toFixed(0)} MiB (+${((peakRss - baseRss) / MB).toFixed(0)} MiB; the body itself is ${(payload.length / MB).toFixed(0)} MiB)`)
await app.close()
await stack.stop()

// For comparison, after the request (so its memory figures are its own): one synchronous
// JSON.parse and one Ajv pass over the whole body, as the route did before.
const validate = buildValidator({})({ schema: BulkBody, httpPart: 'body' }) as (v: unknown) => boolean
for (let round = 1; round <= 2; round++) {
  const [parsed, parseMs] = timed(() => JSON.parse(text) as unknown)
  const [, validateMs] = timed(() => validate(parsed))
  console.log(`in one go, round ${round}: JSON.parse ${parseMs.toFixed(0)} ms, Ajv validation ${validateMs.toFixed(0)} ms`)
}
