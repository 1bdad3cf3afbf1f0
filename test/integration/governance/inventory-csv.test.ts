// The CSV export of 100,000 tokens over a real listening port: every row arrives, and the server
// (this process) holds a bounded amount of memory while it streams, however large the file.
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, API_PROJECT, asUser, BOB, inDays, seedDirectory } from '../../helpers/fixtures.js'

const TOKENS = 100_000

// A full collection before the baseline, so the growth measured is the download's, not leftovers
// of the seeding. (--expose-gc at run time: tap starts the file's process, not us.)
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test(`CSV export of ${TOKENS} tokens streams in bounded memory`, async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  // Rows shaped like the API's: a digest, a hint, one selected scope each; created in one statement.
  await sql`insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, expires_at, created_by)
    select case when i % 2 = 0 then ${ALICE}::bigint else ${BOB}::bigint end, 'bulk token ' || i, 'fine_grained',
      sha256(convert_to('csv-' || i, 'utf8')), 'fgpat-' || substr(md5(i::text), 1, 4),
      case when i % 10 = 0 then ${inDays(10)}::date else ${inDays(90)}::date end, 'test'
    from generate_series(1, ${TOKENS}::int) i`.execute(ctx.app.db)
  await sql`insert into personal_access_token_scopes (token_id, access, namespace_id, permissions)
    select id, 'selected_memberships', ${API_PROJECT}::bigint, '{read_code,push_code}' from personal_access_tokens`.execute(ctx.app.db)
  await sql`analyze personal_access_tokens, personal_access_token_scopes`.execute(ctx.app.db)

  await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = ctx.app.server.address() as AddressInfo
  const admin = await asUser(ctx, ADMIN)
  const headers = { ...admin, accept: 'text/csv' }
  const list = `http://127.0.0.1:${port}/api/v4/admin/personal_access_tokens`

  // Past 10,000 matching tokens the page says so without counting them all (as GitLab does).
  const big = await fetch(`${list}?per_page=100`, { headers: admin })
  t.equal(big.status, 200)
  t.equal(((await big.json()) as unknown[]).length, 100)
  t.equal(big.headers.get('x-total'), null, 'no X-Total above 10,000')
  t.equal(big.headers.get('x-total-pages'), null)
  t.equal(big.headers.get('x-next-page'), '2')
  t.match(big.headers.get('link'), /rel="next".*rel="first"/)
  t.notMatch(big.headers.get('link'), /rel="last"/)
  const tenThousand = await fetch(`${list}?expires_before=${inDays(20)}`, { headers: admin })
  await tenThousand.arrayBuffer()
  t.equal(tenThousand.headers.get('x-total'), '10000', 'exact up to 10,000')
  t.equal(tenThousand.headers.get('x-total-pages'), '500')
  const none = await fetch(`${list}?expires_before=${inDays(91)}&last_used_before=2100-01-01`, { headers: admin })
  await none.arrayBuffer()
  t.equal(none.headers.get('x-total'), '0', 'an empty result is exact too')

  // A first, smaller export: the code paths it compiles stay on the heap, and are not the download's.
  const warmUp = await fetch(`${list}?expires_before=${inDays(20)}`, { headers })
  t.equal((await warmUp.text()).trimEnd().split('\n').length, 10_001)

  // Each sample follows a full collection: heapUsed alone also counts garbage V8 has not collected
  // yet (with a large heap limit it lets hundreds of MB of dead batches pile up before a major GC),
  // which says how lazy the collector is, not what the export holds on to.
  gc()
  const baseline = process.memoryUsage().heapUsed
  let peak = 0
  let samples = 0
  const sampler = setInterval(() => {
    gc()
    peak = Math.max(peak, process.memoryUsage().heapUsed - baseline)
    samples++
  }, 50)
  const started = Date.now()
  const res = await fetch(list, { headers })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/csv/)
  t.notOk(res.headers.get('content-length'), 'sent as it is produced (chunked), not as one buffer')
  let bytes = 0
  let lines = 0
  let head = ''
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    if (head.length < 400) head += Buffer.from(chunk).toString('utf8', 0, 400)
    bytes += chunk.byteLength
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
  }
  clearInterval(sampler)
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  t.comment(`CSV ${mb(bytes)} in ${Date.now() - started} ms; ${samples} heap samples, peak growth ${mb(peak)} over ${mb(baseline)}`)

  t.equal(lines, TOKENS + 1, 'every token, plus the header')
  t.match(head.split('\n')[1], /^\d+,3,bulk token 1,fine_grained,active,,push_code read_code,/, 'rows as the export writes them')
  t.ok(bytes > 10 * 1024 * 1024, 'a file large enough for buffering to show')
  t.ok(samples >= 10, 'sampled all along the download')
  t.ok(peak < bytes / 3, `peak heap growth ${mb(peak)} stays under a third of the file (${mb(bytes)})`)
})
