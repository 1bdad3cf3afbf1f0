// The bulk endpoint accepts up to BULK_BODY_LIMIT and processes a maximal body (50,000 users,
// namespaces and memberships, just under the limit) without its code holding the event loop for
// more than 100 ms at a time; larger bodies are 413 and malformed ones 400 before any work is done.
// The garbage collector's pauses are V8's and are bounded apart (loop-probe.mjs says why).
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { type ClientRequest, request } from 'node:http'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import pg from 'pg'
import { BULK_BODY_LIMIT } from '../../../src/modules/directory/routes.js'
import { build, TEST_JWT_SECRET, TEST_PEPPER } from '../../helpers/app.js'
import { describeLoop, type LoopReport, whileProbing } from '../../helpers/event-loop-probe.js'
import { YOUNG_GENERATION_FLAGS } from '../../../src/gc-tuning.js'
import { directoryClient, problem, tableCounts } from './client.js'
import { plainNode } from '../../helpers/processes.js'
import { repoRoot } from '../../../src/repo-root.js'

const N = 50_000
const MB = 1024 * 1024
// From its source folder, where its imports of dist/src point (it runs in plain node, uncompiled).
const child = join(repoRoot(), 'test', 'helpers', 'maximal-bulk.mjs')
const execFileAsync = promisify(execFile)
// 150,000 rows take ~15 s alone and several times that while the whole suite runs beside it
t.setTimeout(600_000)

/** A pause this long would be a stop-the-world collection of the whole heap, not a scavenge (15–56 ms idle, ~2× under load). */
const GC_PAUSE_LIMIT_MS = 500

function heldBriefly(t: Test, report: LoopReport) {
  t.ok(report.longestCodeBlockMs < 100, `the code never held the event loop more than 100 ms: ${describeLoop(report)}`)
  t.ok(report.longestGcPauseMs < GC_PAUSE_LIMIT_MS, `no garbage-collection pause of ${GC_PAUSE_LIMIT_MS} ms (longest: ${report.longestGcPauseMs.toFixed(1)} ms)`)
}

t.test('a maximal bulk body: the code never holds the event loop for more than 100 ms', async (t) => {
  // The load runs in a plain-node child process (maximal-bulk.mjs says why) on this test's own
  // database and Redis key prefix; the tables are checked here afterwards.
  const ctx = await build(t)
  await ctx.app.close()
  // with the young generation the server runs with (npm start, the Dockerfile): its scavenges are the longest
  const { stdout: out } = await execFileAsync(...plainNode([...YOUNG_GENERATION_FLAGS, child]), {
    encoding: 'utf8', maxBuffer: 16 * MB, timeout: 500_000,
    env: { ...process.env, DATABASE_URL: ctx.config.databaseUrl, REDIS_URL: ctx.config.redisUrl, REDIS_KEY_PREFIX: ctx.config.redisKeyPrefix, AUTH_JWT_SECRET: TEST_JWT_SECRET, TOKEN_PEPPERS: TEST_PEPPER },
  })
  const { status, body, bytes, elapsedMs, report } = JSON.parse(out) as { status: number; body: string; bytes: number; elapsedMs: number; report: LoopReport }
  t.ok(bytes > BULK_BODY_LIMIT - MB && bytes <= BULK_BODY_LIMIT, `the body is ${(bytes / MB).toFixed(1)} MiB, just under the ${BULK_BODY_LIMIT / MB} MiB limit`)
  t.equal(status, 200, body)
  t.same(JSON.parse(body), { users: N, namespaces: N, memberships: N })
  t.comment(`maximal bulk (${(bytes / MB).toFixed(1)} MiB): ${Math.round(elapsedMs)} ms; ${describeLoop(report)}`)
  heldBriefly(t, report)
  const db = new pg.Client({ connectionString: ctx.config.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const { rows } = await db.query('select (select count(*) from users) u, (select count(*) from namespaces) n, (select count(*) from memberships) m, (select count(*) from audit_events) a')
  t.same(rows[0], { u: String(N), n: String(N), m: String(N), a: '1' }, 'every row written, one audit event')
})

t.test('bodies over the limit are 413, before the body is read', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const over = await ctx.app.inject({
    method: 'POST', url: '/api/v4/directory/bulk', headers: { ...dir.headers, 'content-type': 'application/json' },
    payload: `{"users":[${'{},'.repeat(BULK_BODY_LIMIT / 3)}{}]}`,
  })
  const body = problem(over, 413)
  t.equal(body.code, 'payload_too_large')
  t.match(body.detail, String(BULK_BODY_LIMIT))
})

t.test('a large body whose arrays are over the schema maximum is refused before its items are parsed', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  // 8,000,000 empty objects would take ~500 MB once parsed; the count is known from the scan
  const payload = Buffer.from(`{"memberships":[${'{},'.repeat(8_000_000)}{}]}`)
  const { value: res, report } = await whileProbing(() =>
    ctx.app.inject({ method: 'POST', url: '/api/v4/directory/bulk', headers: { ...dir.headers, 'content-type': 'application/json' }, payload }),
  )
  const body = problem(res, 400)
  t.same(body.errors, [{ path: 'body.memberships', message: 'must NOT have more than 50000 items' }])
  t.ok(report.peakRssBytes - report.baselineRssBytes < 200 * MB, `RSS grew by ${((report.peakRssBytes - report.baselineRssBytes) / MB).toFixed(0)} MiB`)
  heldBriefly(t, report)
})

t.test('a large bulk body with one bad item far down is a 400 naming it; nothing is written', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const users = Array.from({ length: N }, (_, i) => ({ id: i + 1, username: `user${i + 1}`, name: `User ${i + 1}`, email: `user${i + 1}@example.com` }))
  users[N - 2].email = 'not an address'
  const { value: res, report } = await whileProbing(() => dir.bulk({ users }))
  const body = problem(res, 400)
  t.equal(body.code, 'validation_failed')
  t.same(body.errors, [{ path: `body.users[${N - 2}].email`, message: 'must be an email address' }])
  heldBriefly(t, report)
  t.same(await tableCounts(ctx), { users: 0, namespaces: 0, memberships: 0, audit_events: 0 })

  // every item wrong: at most 100 problems are listed, and finding them is quick
  const allWrong = users.map((u) => ({ ...u, email: 'nope', extra: true }))
  const many = problem(await dir.bulk({ users: allWrong }), 400)
  t.equal(many.errors?.length, 100)
})

t.test('deep nesting is refused before parsing, large or small, on any route', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
  const deep = await ctx.app.inject({ method: 'PUT', url: '/api/v4/directory/users/1', headers: { ...dir.headers, 'content-type': 'application/json' }, payload: `{"username":${nested(16)}}` })
  const deepBody = problem(deep, 400)
  t.equal(deepBody.code, 'json_too_deep')
  t.match(deepBody.detail, 'deeper than 16 levels')
  const fits = await ctx.app.inject({ method: 'PUT', url: '/api/v4/directory/users/1', headers: { ...dir.headers, 'content-type': 'application/json' }, payload: `{"username":${nested(15)}}` })
  t.equal(problem(fits, 400).code, 'validation_failed', '16 levels parse (and fail validation)')

  // the reported case: a 30 MB nested body held the loop 7 s and took 1.27 GB
  const payload = Buffer.from(`{"users":[${'{"a":'.repeat(5_000_000)}1${'}'.repeat(5_000_000)}]}`)
  const { value: huge, report } = await whileProbing(() =>
    ctx.app.inject({ method: 'POST', url: '/api/v4/directory/bulk', headers: { ...dir.headers, 'content-type': 'application/json' }, payload }),
  )
  t.equal(problem(huge, 400).code, 'json_too_deep')
  heldBriefly(t, report)
  t.ok(report.peakRssBytes - report.baselineRssBytes < 200 * MB, `RSS grew by ${((report.peakRssBytes - report.baselineRssBytes) / MB).toFixed(0)} MiB`)
})

t.test('prototype poisoning and invalid JSON are 400, in small and large bodies', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const post = (payload: string) => ctx.app.inject({ method: 'POST', url: '/api/v4/directory/bulk', headers: { ...dir.headers, 'content-type': 'application/json' }, payload })
  const filler = Array.from({ length: 20_000 }, (_, i) => `{"user_id":${i + 1},"namespace_id":1,"access_level":30}`).join(',')
  t.ok(filler.length > 256 * 1024, 'the large cases take the sliced path')
  for (const [label, payload] of [
    ['small, __proto__ at the top', '{"__proto__":{"admin":true}}'],
    ['small, __proto__ in an item', '{"users":[{"__proto__":{"admin":true}}]}'],
    ['large, __proto__ at the top', `{"__proto__":{"admin":true},"memberships":[${filler}]}`],
    ['large, __proto__ in an item', `{"memberships":[${filler},{"__proto__":{"x":1}}]}`],
    ['large, constructor.prototype in an item', `{"memberships":[{"constructor":{"prototype":{"x":1}}},${filler}]}`],
  ]) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, label)
    t.equal(({}.constructor as unknown as { admin?: unknown }).admin, undefined)
  }
  for (const [label, payload] of [
    ['small, truncated', '{"users":['],
    ['large, truncated', `{"memberships":[${filler}`],
    ['large, trailing comma', `{"memberships":[${filler},]}`],
    ['large, garbage between items', `{"memberships":[${filler}, x]}`],
    ['empty', ''],
  ]) {
    const res = await post(payload)
    t.equal(problem(res, 400).code, 'invalid_json', label)
  }
  const array = await post(`[${filler}]`)
  t.equal(problem(array, 413).code, 'payload_too_large', 'a large body must be an object')
})

t.test('every other route keeps a small body limit', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const big = JSON.stringify({ username: 'u1', name: 'x'.repeat(300 * 1024), email: 'u1@example.com' })
  const res = await ctx.app.inject({ method: 'PUT', url: '/api/v4/directory/users/1', headers: { ...dir.headers, 'content-type': 'application/json' }, payload: big })
  const body = problem(res, 413)
  t.equal(body.code, 'payload_too_large')
  t.match(body.detail, '262144 bytes')
  const introspect = await ctx.app.inject({
    method: 'POST', url: '/oauth/introspect',
    headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${'a'.repeat(10_000)}`,
  })
  t.equal(problem(introspect, 413).code, 'payload_too_large', 'introspection forms are a few KiB at most')
})

t.test('over real HTTP, the bulk route enforces its limit on chunked bodies', async (t) => {
  // The bulk route gathers its body itself (registerLargeJsonBodyParser), so Fastify's own limit
  // check is ours to keep: a chunked body has no length to refuse up front.
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const send = (write: (req: ClientRequest) => void, headers: Record<string, string | number>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${base}/api/v4/directory/bulk`, { method: 'POST', headers: { ...dir.headers, 'content-type': 'application/json', ...headers } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      // the server answers before reading everything: a write after that may fail, the answer counts
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)))
      write(req)
    })
  const MiB = Buffer.alloc(MB, 0x20) // whitespace: the body stays valid JSON up to its last byte
  const chunked = await send((req) => {
    req.write('{"users":[]')
    let sent = 0
    const more = () => {
      while (sent <= BULK_BODY_LIMIT / MB) {
        sent++
        if (!req.write(MiB)) return req.once('drain', more)
      }
      req.end('}')
    }
    more()
  }, { 'transfer-encoding': 'chunked' })
  t.equal(chunked.status, 413, chunked.body)
  t.equal(JSON.parse(chunked.body).code, 'payload_too_large')

  const small = await send((req) => req.end('{"users":[]}'), { 'transfer-encoding': 'chunked' })
  t.equal(small.status, 200, `a small chunked body is read: ${small.body}`)
  t.same(JSON.parse(small.body), { users: 0, namespaces: 0, memberships: 0 })
})
