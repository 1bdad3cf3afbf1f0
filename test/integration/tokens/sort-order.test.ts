// Every sort of the token list and the admin inventory: never-used / no-expiry tokens come last in
// both directions (nulls last), and nothing reaches stdout/stderr on the way — Kysely prints its
// deprecation notices there as plain text, which breaks a JSON log.
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'

/** Records what is written to stdout and stderr while `fn` runs (and still writes it). */
async function capturingOutput(fn: () => Promise<void>): Promise<string> {
  let captured = ''
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) }
  const tee = (write: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest)
    }) as typeof process.stdout.write
  process.stdout.write = tee(originals.out)
  process.stderr.write = tee(originals.err)
  try {
    await fn()
  } finally {
    process.stdout.write = originals.out
    process.stderr.write = originals.err
  }
  return captured
}

t.test('token list and inventory sorts keep nulls last and print no deprecation notice', async (t) => {
  const ctx = await build(t, { env: { REQUIRE_TOKEN_EXPIRY: 'false' } })
  await seedDirectory(ctx)
  const soon = await createToken(ctx, ALICE, { name: 'soon', expires_at: inDays(5) })
  const later = await createToken(ctx, ALICE, { name: 'later', expires_at: inDays(50) })
  await createToken(ctx, ALICE, { name: 'never', expires_at: null })
  // Used tokens have last_used_at; `never` stays unused (null).
  await sql`update personal_access_tokens set last_used_at = now() - make_interval(days => id::int) where id in (${soon.id}, ${later.id})`.execute(ctx.app.db)

  const names = (body: unknown) => (body as TokenJson[]).map((x) => x.name)
  const output = await capturingOutput(async () => {
    const list = async (base: string, sort: string, who: number) => {
      const res = await ctx.app.inject({ url: `${base}?sort=${sort}`, headers: await asUser(ctx, who) })
      t.equal(res.statusCode, 200, `${base} sort=${sort}`)
      return names(res.json())
    }
    for (const base of ['/api/v4/personal_access_tokens', '/api/v4/admin/personal_access_tokens']) {
      const who = base.includes('admin') ? ADMIN : ALICE
      t.same(await list(base, 'expires_asc', who), ['soon', 'later', 'never'], `${base}: no expiry last when ascending`)
      t.same(await list(base, 'expires_desc', who), ['later', 'soon', 'never'], `${base}: and last when descending`)
      t.equal((await list(base, 'last_used_asc', who)).at(-1), 'never', `${base}: never used last when ascending`)
      t.equal((await list(base, 'last_used_desc', who)).at(-1), 'never', `${base}: and last when descending`)
      t.same(await list(base, 'created_asc', who), ['soon', 'later', 'never'])
      t.same(await list(base, 'created_desc', who), ['never', 'later', 'soon'])
    }
  })
  t.notMatch(output, /deprecated/i, 'no deprecation notice on stdout/stderr')
})
