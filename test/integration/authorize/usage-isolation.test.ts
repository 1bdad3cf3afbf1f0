// Usage must not be poisonable by one request or one row: last_used_at feeds auto-revocation of
// unused tokens, so a lost flush could revoke tokens that are in active use.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ALICE, API_PROJECT, BOB, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

const api = { type: 'project', id: API_PROJECT }

async function lastUsed(ctx: Awaited<ReturnType<typeof build>>, id: number) {
  return ctx.app.db.selectFrom('personal_access_tokens').select(['last_used_at', 'last_used_ips']).where('id', '=', id).executeTakeFirstOrThrow()
}

t.test('a request with a poisoned IP costs no other token its usage', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const bystander = await createToken(ctx, ALICE)
  const attacker = await createToken(ctx, BOB, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  t.equal((await authorize(bystander.token!, 'read_code', api, { ip: '10.0.0.1' })).allowed, true)
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const poisoned = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token: attacker.token, permission: 'read_code', resource: api, ip: '10.0.0.2\u0000' } })
  t.ok(poisoned.statusCode < 500, `the poisoned request is answered (${poisoned.statusCode}), not an error`)
  await ctx.app.usage.flush()
  const row = await lastUsed(ctx, bystander.id)
  t.ok(row.last_used_at, 'the bystander keeps its last use')
  t.same(row.last_used_ips, ['10.0.0.1'])
  t.notOk((await lastUsed(ctx, attacker.id)).last_used_ips.some((ip) => ip.includes('\u0000')), 'the bad address was never recorded')
  t.notMatch(ctx.logs.text, /usage flush failed/, 'the flush did not fail')
})

t.test('a row PostgreSQL refuses is dropped alone: the rest of its batch is written', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const tokens = await Promise.all([ALICE, ALICE, BOB].map((user) => createToken(ctx, user)))
  const readCode = [{ name: 'read_code' }]
  const now = new Date()
  // A token deleted between its use and the flush: its counts break the foreign key.
  const gone = await createToken(ctx, ALICE)
  for (const tk of tokens.slice(0, 2)) ctx.app.usage.record(tk.id, now, '192.0.2.7', readCode, API_PROJECT, true)
  ctx.app.usage.record(gone.id, now, '192.0.2.8', readCode, API_PROJECT, true)
  ctx.app.usage.record(tokens[2].id, now, '2001:db8::1', readCode, API_PROJECT, false)
  await ctx.app.db.deleteFrom('personal_access_token_scopes').where('token_id', '=', gone.id).execute()
  await ctx.app.db.deleteFrom('audit_events').execute()
  await ctx.app.db.deleteFrom('personal_access_tokens').where('id', '=', gone.id).execute()
  await ctx.app.usage.flush()
  const counts = await ctx.app.db.selectFrom('token_usage_daily').select(['token_id', 'allowed', 'denied']).orderBy('token_id').execute()
  const expected = [[tokens[0].id, 1, 0], [tokens[1].id, 1, 0], [tokens[2].id, 0, 1]].sort((a, b) => a[0] - b[0])
  t.same(counts.map((c) => [Number(c.token_id), Number(c.allowed), Number(c.denied)]), expected, 'every other count is written')
  for (const tk of tokens) t.ok((await lastUsed(ctx, tk.id)).last_used_at, `token ${tk.id} keeps its last use`)
  t.match(ctx.logs.text, /usage row refused by PostgreSQL/, 'the refused row is logged')
  t.notMatch(ctx.logs.text, /usage flush failed/, 'and the flush as a whole did not fail')
})
