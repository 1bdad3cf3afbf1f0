// Caller JWT verification: keys from a secret, PEM public keys or a JWK set; issuer and audience
// enforced when configured; only allowed algorithms.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createTestDatabase, LogCapture, TEST_JWT_SECRET, testConfig } from '../helpers/app.js'

async function appWith(t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>) {
  const db = await createTestDatabase(t)
  const app = await buildApp(testConfig(db, env), { logStream: new LogCapture() })
  t.teardown(() => app.close())
  // Ready before any JWT is signed: the short-lived JWT test gives itself 1-2 s, which a cold start
  // (plugins, every route's schemas) on a busy machine could use up before the first request.
  await app.ready()
  return app
}

const call = (app: Awaited<ReturnType<typeof buildApp>>, jwt: string) =>
  app.inject({ method: 'PUT', url: '/api/v4/directory/users/7', headers: { authorization: `Bearer ${jwt}` }, payload: { username: 'u7', name: 'U', email: 'u7@example.com' } })


t.test('RS256 keys from AUTH_JWT_KEYS (PEM) and ES256 from a JWK set; HS256 refused when no secret is set', async (t) => {
  const rsa = await generateKeyPair('RS256')
  const app = await appWith(t, { AUTH_JWT_SECRET: '', AUTH_JWT_KEYS: await exportSPKI(rsa.publicKey), AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'fgpat' })
  const sign = (claims: { iss?: string; aud?: string }, key = rsa.privateKey, alg = 'RS256') => {
    let jwt = new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg }).setSubject('service:idp').setExpirationTime('5m')
    if (claims.iss) jwt = jwt.setIssuer(claims.iss)
    if (claims.aud) jwt = jwt.setAudience(claims.aud)
    return jwt.sign(key)
  }
  t.equal((await call(app, await sign({ iss: 'https://idp.example', aud: 'fgpat' }))).statusCode, 200)
  t.equal((await call(app, await sign({ iss: 'https://evil.example', aud: 'fgpat' }))).statusCode, 401, 'wrong issuer')
  t.equal((await call(app, await sign({ iss: 'https://idp.example', aud: 'other' }))).statusCode, 401, 'wrong audience')
  t.equal((await call(app, await sign({ aud: 'fgpat' }))).statusCode, 401, 'missing issuer')
  const other = await generateKeyPair('RS256')
  t.equal((await call(app, await sign({ iss: 'https://idp.example', aud: 'fgpat' }, other.privateKey))).statusCode, 401, 'another key')
  const hs = await new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').setIssuer('https://idp.example').setAudience('fgpat').setExpirationTime('5m').sign(new TextEncoder().encode(TEST_JWT_SECRET))
  t.equal((await call(app, hs)).statusCode, 401, 'HS256 is not accepted without a configured secret')

  const ec = await generateKeyPair('ES256')
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256' }] })
  const app2 = await appWith(t, { AUTH_JWT_SECRET: '', AUTH_JWT_KEYS: jwks })
  const es = await new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('service:idp').setExpirationTime('5m').sign(ec.privateKey)
  t.equal((await call(app2, es)).statusCode, 200)
})

t.test('JWT without exp or sub is refused; scopes are space separated', async (t) => {
  const app = await appWith(t, {})
  const key = new TextEncoder().encode(TEST_JWT_SECRET)
  const noExp = await new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').sign(key)
  t.equal((await call(app, noExp)).statusCode, 401)
  const noSub = await new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key)
  t.equal((await call(app, noSub)).statusCode, 401)
  const otherScopes = await new SignJWT({ scope: 'authorize directory:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').setExpirationTime('5m').sign(key)
  const res = await call(app, otherScopes)
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'missing_scope')
  const both = await new SignJWT({ scope: 'authorize directory:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').setExpirationTime('5m').sign(key)
  t.equal((await call(app, both)).statusCode, 200)
})

t.test('failed authentications are rate limited per client address', async (t) => {
  const app = await appWith(t, { AUTH_FAILURE_LIMIT: '3' })
  const bad = () => app.inject({ url: '/api/v4/personal_access_tokens', headers: { 'private-token': 'fgpat-wrong' } })
  for (let i = 0; i < 3; i++) t.equal((await bad()).statusCode, 401)
  const limited = await bad()
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'too_many_failed_authentications')
  t.ok(Number(limited.headers['retry-after']) > 0)
  const fromElsewhere = await app.inject({ url: '/api/v4/personal_access_tokens', headers: { 'private-token': 'fgpat-wrong' }, remoteAddress: '10.0.0.9' })
  t.equal(fromElsewhere.statusCode, 401, 'other addresses are not affected')
})

t.test('a service JWT presented again is not trusted past its exp, and another header is checked afresh', async (t) => {
  const app = await appWith(t, {})
  const key = new TextEncoder().encode(TEST_JWT_SECRET)
  const exp = Math.floor(Date.now() / 1000) + 2
  const shortLived = await new SignJWT({ scope: 'directory:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').setExpirationTime(exp).sign(key)
  t.equal((await call(app, shortLived)).statusCode, 200)
  t.equal((await call(app, shortLived)).statusCode, 200, 'the same header again (remembered)')
  const reader = await new SignJWT({ scope: 'directory:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('service:idp').setExpirationTime('5m').sign(key)
  t.equal((await call(app, reader)).statusCode, 403, 'another JWT, its own scopes')
  t.equal((await call(app, shortLived)).statusCode, 200)
  const forged = `${shortLived.slice(0, -2)}${shortLived.endsWith('AA') ? 'BB' : 'AA'}`
  t.equal((await call(app, forged)).statusCode, 401, 'a changed signature right after the good one')
  t.equal((await call(app, shortLived)).statusCode, 200)
  const privateToken = await app.inject({ method: 'PUT', url: '/api/v4/directory/users/7', headers: { authorization: `Bearer ${shortLived}`, 'private-token': 'glpat-nope' }, payload: { username: 'u7', name: 'U', email: 'u7@example.com' } })
  t.equal(privateToken.statusCode, 401, 'a PRIVATE-TOKEN header takes precedence over the remembered JWT')
  await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50))
  t.equal((await call(app, shortLived)).statusCode, 401, 'expired: no longer accepted')
})
