// One security suite for every route: read the routes from the generated OpenAPI document and prove
// each protected one refuses a missing, malformed, forged or revoked credential.
import { SignJWT } from 'jose'
import t from 'tap'
import { build, TEST_JWT_SECRET } from './../helpers/app.js'
import { ALICE, seedDirectory } from './../helpers/fixtures.js'
import { createToken } from './../helpers/tokens.js'

interface Operation {
  security?: unknown[]
}

t.test('every protected route refuses bad credentials with 401 problem+json', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const revoked = await createToken(ctx, ALICE)
  await ctx.app.inject({ method: 'DELETE', url: '/api/v4/personal_access_tokens/self', headers: { 'private-token': revoked.token! } })
  const forged = await new SignJWT({ scope: 'directory:write authorize tokens:admin' })
    .setProtectedHeader({ alg: 'HS256' }).setSubject('1').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(40)))
  const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('1').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(TEST_JWT_SECRET))
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"1","exp":9999999999}').toString('base64url')}.`
  const credentials: [string, Record<string, string>][] = [
    ['none', {}],
    ['malformed PAT', { 'private-token': 'fgpat-garbage' }],
    ['bad checksum', { 'private-token': `${revoked.token!.slice(0, -1)}${revoked.token!.endsWith('A') ? 'B' : 'A'}` }],
    ['revoked PAT', { 'private-token': revoked.token! }],
    ['forged JWT', { authorization: `Bearer ${forged}` }],
    ['expired JWT', { authorization: `Bearer ${expired}` }],
    ['alg none JWT', { authorization: `Bearer ${unsigned}x` }],
    ['basic auth', { authorization: 'Basic YWxpY2U6cGFzcw==' }],
  ]
  const doc = ctx.app.swagger() as { paths: Record<string, Record<string, Operation>> }
  let checked = 0
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (Array.isArray(op.security) && op.security.length === 0) continue // public by design
      const url = path.replace(/\{[^}]+\}/g, '1')
      for (const [label, headers] of credentials) {
        const res = await ctx.app.inject({ method: method.toUpperCase() as 'GET', url, headers, payload: ['get', 'delete'].includes(method) ? undefined : {} })
        t.equal(res.statusCode, 401, `${method.toUpperCase()} ${path} with ${label} credentials → 401 (got ${res.statusCode})`)
        t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
        checked++
      }
    }
  }
  t.ok(checked >= 8 * 15, `checked ${checked} route/credential pairs`)
})
