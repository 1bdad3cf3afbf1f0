// Child process of test/integration/directory/bulk-limits.test.ts: builds the app (compiled, from
// dist/) on the database and Redis it is given, sends it one maximal bulk body and prints a JSON
// report: status, body, elapsed time, the longest event-loop block and the peak RSS (loop-probe.mjs).
//
// A separate plain-node process because the test runner installs async hooks that track every
// promise until it is collected: with the ~400,000 promises of a maximal load (two Redis commands
// per invalidated key) that alone made garbage-collection pauses of ~350 ms that production does
// not have. Here the app runs as it does in production; the database and Redis are the test's own.
import { buildApp } from '../../dist/src/app.js'
import { signDevJwt } from '../../dist/src/auth/dev-jwt.js'
import { loadConfig } from '../../dist/src/config.js'
import { disablePretenuring } from '../../dist/src/gc-tuning.js'
import { BULK_BODY_LIMIT } from '../../dist/src/modules/directory/routes.js'
import { startLoopProbe } from './loop-probe.mjs'

const N = 50_000

/** 50,000 of each kind, names padded so the JSON ends just under `targetBytes`; children first. */
function maximalBody(targetBytes) {
  const make = (pad) => {
    const users = Array.from({ length: N }, (_, i) => ({ id: i + 1, username: `user${i + 1}`, name: `User ${i + 1} ${pad}`, email: `user${i + 1}@example.com`, state: 'active', is_admin: false }))
    const namespaces = []
    for (let g = 0; namespaces.length < N; g++) {
      const group = 100_000 + namespaces.length
      namespaces.push({ id: group, kind: 'group', path: `group-${g}`, name: `Group ${g} ${pad}`, visibility: 'private' })
      for (let p = 0; p < 9 && namespaces.length < N; p++) namespaces.push({ id: 100_000 + namespaces.length, kind: 'project', path: `project-${p}`, name: `Project ${g}/${p} ${pad}`, parent_id: group, visibility: 'internal' })
    }
    const memberships = users.map((u, i) => ({ user_id: u.id, namespace_id: 100_000 + i, access_level: 30, expires_at: null }))
    return JSON.stringify({ users, namespaces: namespaces.reverse(), memberships })
  }
  const padLength = Math.max(0, Math.min(200, Math.floor((targetBytes - Buffer.byteLength(make(''))) / (2 * N))))
  return make('x'.repeat(padLength))
}

disablePretenuring() // as the API server does (src/gc-tuning.ts)
const { DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, AUTH_JWT_SECRET, TOKEN_PEPPERS } = process.env
const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, AUTH_JWT_SECRET, TOKEN_PEPPERS, LOG_LEVEL: 'warn', SEED_DEMO: 'false' })
// stdout carries the report alone: the app logs to stderr
const app = await buildApp(config, { logStream: process.stderr })
await app.ready()
const authorization = `Bearer ${await signDevJwt({ secret: AUTH_JWT_SECRET, sub: 'service:idp', scopes: ['directory:write'] })}`
const payload = Buffer.from(maximalBody(BULK_BODY_LIMIT - 256 * 1024))

const stopProbe = startLoopProbe()
const started = performance.now()
const res = await app.inject({ method: 'POST', url: '/api/v4/directory/bulk', headers: { authorization, 'content-type': 'application/json' }, payload })
const elapsedMs = performance.now() - started
const report = await stopProbe()
await app.close()
process.stdout.write(JSON.stringify({
  status: res.statusCode, body: res.body.slice(0, 1000), bytes: payload.length, elapsedMs,
  report,
}))
