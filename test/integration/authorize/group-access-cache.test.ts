// A group's removal of a token's access is part of the token's cached state: an allow held in L1
// turns into a deny at once on the instance that made the change, within
// the pub/sub delay on another instance, and through PostgreSQL NOTIFY alone when the removal is
// written by anything else (a manual fix, a bulk load: no write-through, no Redis message).
import { sql } from 'kysely'
import t from 'tap'
import { buildApp } from '../../../src/app.js'
import { build, LogCapture, untilTrusted } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ADMIN, ALICE, API_PROJECT, asUser, CLI_PROJECT, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

const api = { type: 'project', id: API_PROJECT }
const cli = { type: 'project', id: CLI_PROJECT }
const broad = [{ access: 'all_memberships', permissions: ['read_code'] }]
const RULE_MS = 1000 // once a change has committed, no instance allows the old state later than this

async function until(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limitMs) break
    await new Promise((r) => setTimeout(r, 5))
  }
  return Date.now() - started
}

t.test('removed through the API: the same instance denies at once, a second instance within 100 ms', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const second = await buildApp(ctx.config, { logStream: new LogCapture() })
  t.teardown(() => second.close())
  await second.ready()
  await untilTrusted(second)
  const first = await authorizer(ctx)
  const other = await authorizer(ctx, second)
  const token = await createToken(ctx, ALICE, { granular_scopes: broad })
  // Trust lapses when a listener heartbeat is late (a loaded machine), and what was cached before
  // is dropped when it returns: warm up while both trust their caches, and again if one lapsed.
  for (let attempt = 0; attempt < 5; attempt++) {
    await untilTrusted(ctx.app)
    await untilTrusted(second)
    for (let i = 0; i < 3; i++) {
      t.equal((await first(token.token!, 'read_code', api)).allowed, true, 'warm on the first instance')
      t.equal((await other(token.token!, 'read_code', api)).allowed, true, 'warm on the second instance')
    }
    if (ctx.app.policyCache.l1Active && second.policyCache.l1Active) break
  }
  t.equal(ctx.app.policyCache.l1Active && second.policyCache.l1Active, true, 'both serve from L1')

  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens/${token.id}/remove_access`, headers: await asUser(ctx, ADMIN), payload: {} })
  t.equal(res.statusCode, 201)
  t.equal((await first(token.token!, 'read_code', api)).reason, 'access_removed_by_group', 'the very next decision here')
  const waited = await until(async () => !(await other(token.token!, 'read_code', api)).allowed, RULE_MS)
  t.equal((await other(token.token!, 'read_code', api)).reason, 'access_removed_by_group')
  // The message, not the fallback: without it the second instance would go on until it distrusts
  // its L1 after INVALIDATION_MAX_SILENCE_MS (750 ms). Delivery takes a few ms; 500 leaves a loaded
  // CI machine room (the lag under load is measured by bench:mix's propagation part, not here).
  t.ok(waited <= 500, `the second instance denied after ${waited} ms`)
  t.equal((await other(token.token!, 'read_code', cli)).allowed, true, 'still allowed outside the group')

  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens/${token.id}/remove_access`, headers: await asUser(ctx, ADMIN) })
  t.equal((await first(token.token!, 'read_code', api)).allowed, true, 'restored: allowed at once here')
  t.ok((await until(async () => (await other(token.token!, 'read_code', api)).allowed, RULE_MS)) <= RULE_MS, 'and on the second instance')
})

t.test('written straight into PostgreSQL: NOTIFY alone turns a cached allow into a deny', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: broad })
  for (let i = 0; i < 3; i++) t.equal((await authorize(token.token!, 'read_code', api)).allowed, true, 'warm in L1')
  const version = async () => (await ctx.app.db.selectFrom('personal_access_tokens').select('version').where('id', '=', token.id).executeTakeFirstOrThrow()).version
  const before = await version()

  // Nothing of the application's write path: no refresh, no write-through, no Redis message.
  await sql`insert into group_access_removals (token_id, group_id, removed_by, reason) values (${token.id}, ${PLATFORM}, 'user:1', 'manual fix')`.execute(ctx.app.db)
  t.equal(await version(), before + 1, 'the trigger moved the token\'s version')
  const denied = await until(async () => (await authorize(token.token!, 'read_code', api)).reason === 'access_removed_by_group', RULE_MS)
  t.ok(denied <= RULE_MS, `denied ${denied} ms after the commit`)
  t.comment(`NOTIFY path: denied ${denied} ms after the removal committed`)
  t.equal((await authorize(token.token!, 'read_code', cli)).allowed, true)

  await sql`delete from group_access_removals where token_id = ${token.id}`.execute(ctx.app.db)
  t.equal(await version(), before + 2, 'a deleted removal moves it too')
  const allowed = await until(async () => (await authorize(token.token!, 'read_code', api)).allowed, RULE_MS)
  t.ok(allowed <= RULE_MS, `allowed again ${allowed} ms after the delete`)
})
