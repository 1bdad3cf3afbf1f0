// The usage counts the hot path keeps in memory (authorize/usage.ts: one map per token, each
// namespace's permissions chained) must come out of the flush exactly as counted: they are the
// least-privilege evidence (recommendations, the legacy report's proposals). A seeded random run of
// record calls, with repeated uses, checks of several permissions at once and a UTC day changing in the middle,
// compared with a count kept by the test.
import t from 'tap'
import { UsageRecorder } from '../../../src/modules/authorize/usage.js'
import { build } from '../../helpers/app.js'
import { ALICE, BOB, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

// A small deterministic PRNG (mulberry32): the same run every time.
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('flushed counts equal what was recorded, per token, day, permission and namespace', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const tokens = await Promise.all([ALICE, ALICE, BOB].map((user) => createToken(ctx, user)))
  const usage = new UsageRecorder(ctx.app.db, (err) => t.error(err))
  const names = ['read_code', 'push_code', 'read_issue', 'create_issue', 'read_pipeline']
  const namespaces = [0, 100, 101, 102, 200, 2 ** 40 + 7] // 0: the instance or a user; a large id too
  const expected = new Map<string, { allowed: number; denied: number }>()
  const count = (tokenId: number, day: string, permission: string, ns: number, allowed: boolean) => {
    const key = `${tokenId}|${day}|${permission}|${ns}`
    const c = expected.get(key) ?? { allowed: 0, denied: 0 }
    if (allowed) c.allowed++
    else c.denied++
    expected.set(key, c)
  }
  const random = prng(17)
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]
  const uses: { tokenId: number; permissions: string[]; ns: number }[] = []
  const day1 = new Date('2026-03-01T23:59:58Z')
  const day2 = new Date('2026-03-02T00:00:01Z')
  for (let i = 0; i < 3000; i++) {
    const at = i < 1800 ? day1 : day2 // the day changes for every token at its next use
    const day = at.toISOString().slice(0, 10)
    const allowed = random() < 0.8
    // A third of the uses repeat an earlier one (the counts it made are added to), the rest are new.
    const repeated = uses.length > 0 && random() < 0.3
    const use = repeated ? pick(uses) : {
      tokenId: pick(tokens).id,
      permissions: random() < 0.2 ? [pick(names), pick(names)].filter((p, j, all) => all.indexOf(p) === j) : [pick(names)],
      ns: pick(namespaces),
    }
    usage.record(use.tokenId, at, '192.0.2.1', use.permissions.map((name) => ({ name })), use.ns, allowed)
    for (const p of use.permissions) count(use.tokenId, day, p, use.ns, allowed)
    if (!repeated) uses.push(use)
    if (i === 2400) await usage.flush() // a flush in the middle: later uses add to the same rows
  }
  await usage.flush()
  const rows = await ctx.app.db.selectFrom('token_usage_daily').select(['token_id', 'day', 'permission', 'namespace_id', 'allowed', 'denied']).execute()
  const written = new Map(rows.map((r) => [`${r.token_id}|${r.day}|${r.permission}|${r.namespace_id}`, { allowed: Number(r.allowed), denied: Number(r.denied) }]))
  t.ok(expected.size > 100, `${expected.size} distinct (token, day, permission, namespace) counted`)
  t.same(Object.fromEntries([...written].sort()), Object.fromEntries([...expected].sort()), 'every count written, none invented')
  t.ok([...expected.keys()].some((k) => k.includes('|2026-03-01|')) && [...expected.keys()].some((k) => k.includes('|2026-03-02|')), 'both days counted')
})
