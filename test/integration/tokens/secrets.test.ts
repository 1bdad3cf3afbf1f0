// No secret in logs, stored rows, audit events or error bodies.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'

t.test('secrets never appear in logs, rows or errors', async (t) => {
  const ctx = await build(t, { env: { LOG_LEVEL: 'trace' } })
  await seedDirectory(ctx)
  const secrets: string[] = []
  const a = await createToken(ctx, ALICE)
  secrets.push(a.token!)
  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${a.id}/rotate`, headers: await asUser(ctx, ALICE) })
  secrets.push(rotated.json().token)
  const dup = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotated.json().id}/duplicate`, headers: await asUser(ctx, ALICE) })
  secrets.push(dup.json().token)
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })
  secrets.push(legacy.token!)
  // use them as callers, including failing calls, and look them up as an admin
  await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(secrets[1]) })
  await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: { authorization: `Bearer ${secrets[0]}` } })
  await ctx.app.inject({ url: '/api/v4/personal_access_tokens', headers: patHeader(secrets[2]) })
  const lookup = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/token', headers: await asUser(ctx, ADMIN), payload: { token: secrets[3] } })
  t.equal(lookup.statusCode, 200)
  t.notOk(lookup.body.includes(secrets[3]), 'the lookup answer does not echo the secret')
  const badBody = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/token', headers: await asUser(ctx, ADMIN), payload: { token: secrets[3], extra: secrets[2] } })
  t.equal(badBody.statusCode, 400)
  for (const s of secrets) t.notOk(badBody.body.includes(s), 'validation errors do not echo values')

  t.ok(ctx.logs.lines.length > 10, `captured ${ctx.logs.lines.length} log lines`)
  const tables = ['personal_access_tokens', 'personal_access_token_scopes', 'audit_events', 'users', 'namespaces'] as const
  const dump: string[] = []
  for (const table of tables) dump.push(JSON.stringify(await ctx.app.db.selectFrom(table).selectAll().execute()))
  const stored = dump.join('\n')
  for (const s of secrets) {
    t.notOk(ctx.logs.text.includes(s), 'secret not in logs')
    t.notOk(ctx.logs.text.includes(s.slice(6, 30)), 'no fragment of the body in logs')
    t.notOk(stored.includes(s), 'secret not in any stored row')
    t.notOk(stored.includes(s.slice(10)), 'nor its tail')
  }
})
