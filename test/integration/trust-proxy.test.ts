// TRUST_PROXY decides which X-Forwarded-For entry is the client: the one the trusted proxy saw (the
// right-most untrusted entry), never what the client wrote on the left. Proven through the failed-
// authentication limit: spoofed left-most entries neither bypass it nor lock out the victim.
import { once } from 'node:events'
import t from 'tap'
import type { App } from '../../src/app.js'
import { build } from '../helpers/app.js'

const LIMIT = 3
const PROXY = '10.0.0.1'
const ATTACKER = '203.0.113.66'
const VICTIM = '203.0.113.50'

async function appTrusting(t: { teardown: (fn: () => unknown) => void }, trustProxy: string) {
  const ctx = await build(t, { env: { AUTH_FAILURE_LIMIT: String(LIMIT), TRUST_PROXY: trustProxy } })
  if (ctx.app.redis.status !== 'ready') await once(ctx.app.redis, 'ready')
  const serviceJwt = await ctx.jwt.service('backend', ['authorize'])
  return {
    app: ctx.app,
    fail: (remoteAddress: string, forwardedFor?: string) => failFrom(ctx.app, remoteAddress, forwardedFor),
    authorize: (remoteAddress: string, forwardedFor?: string) =>
      ctx.app.inject({
        method: 'POST', url: '/api/v4/authorize', remoteAddress,
        headers: { authorization: `Bearer ${serviceJwt}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
        payload: { token: 'not-a-token', permission: 'read_code', resource: { type: 'project', id: 1 } },
      }),
  }
}

const failFrom = (app: App, remoteAddress: string, forwardedFor?: string) =>
  app
    .inject({ url: '/api/v4/personal_access_tokens', remoteAddress, headers: { 'private-token': 'fgpat-wrong', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) } })
    .then((res) => res.statusCode)

t.test('TRUST_PROXY=true (one proxy): rotating the left-most entry does not bypass the limit', async (t) => {
  const { fail, authorize } = await appTrusting(t, 'true')
  const statuses: number[] = []
  for (let i = 1; i <= LIMIT + 3; i++) statuses.push(await fail(PROXY, `198.51.100.${i}, ${ATTACKER}`))
  t.same(statuses, [401, 401, 401, 429, 429, 429], 'the proxy-appended address is counted, whatever is on the left')
  t.equal(await fail(PROXY, ATTACKER), 429)
  t.equal(await fail(PROXY, `${VICTIM}, ${ATTACKER}`), 429, 'spoofing the victim is still the attacker')
  t.equal(await fail(PROXY, VICTIM), 401, 'the victim, through the proxy, is not locked out')
  t.equal((await authorize(PROXY, VICTIM)).statusCode, 200)
  t.equal(await fail(PROXY), 401, 'no X-Forwarded-For: the peer itself is the client')
})

t.test('TRUST_PROXY=true: failures sent with the victim spoofed on the left do not lock the victim out', async (t) => {
  const { fail, authorize } = await appTrusting(t, 'true')
  for (let i = 0; i < LIMIT + 2; i++) await fail(PROXY, `${VICTIM}, ${ATTACKER}`)
  t.equal(await fail(PROXY, ATTACKER), 429, 'the attacker is limited')
  t.equal(await fail(PROXY, VICTIM), 401, 'the victim fails normally')
  t.equal((await authorize(PROXY, VICTIM)).statusCode, 200, 'and authenticates normally')
})

t.test('TRUST_PROXY as addresses: only listed proxies are believed, hop by hop', async (t) => {
  const { fail } = await appTrusting(t, '10.0.0.0/8')
  // client -> 10.0.0.2 -> 10.0.0.1 -> fgpat: both proxies are trusted, the client is the entry before them
  const statuses: number[] = []
  for (let i = 1; i <= LIMIT + 1; i++) statuses.push(await fail(PROXY, `198.51.100.${i}, ${ATTACKER}, 10.0.0.2`))
  t.same(statuses, [401, 401, 401, 429], 'two trusted proxies: the address before them is counted')
  // a client that reaches the service directly cannot speak for anyone
  for (let i = 0; i < LIMIT + 1; i++) await fail('198.51.100.200', VICTIM)
  t.equal(await fail('198.51.100.200'), 429, 'the direct client is limited by its own address')
  t.equal(await fail(PROXY, VICTIM), 401, 'the victim it named is not')
})

t.test('TRUST_PROXY as a hop count', async (t) => {
  const { fail } = await appTrusting(t, '2')
  for (let i = 1; i <= LIMIT; i++) t.equal(await fail(PROXY, `198.51.100.${i}, ${ATTACKER}, 10.0.0.2`), 401)
  t.equal(await fail(PROXY, `${VICTIM}, ${ATTACKER}, 10.0.0.2`), 429, 'two hops back is the attacker, whatever comes before')
  t.equal(await fail(PROXY, `${VICTIM}, 10.0.0.2`), 401)
})

t.test('TRUST_PROXY=false (default): X-Forwarded-For is ignored', async (t) => {
  const { fail } = await appTrusting(t, 'false')
  for (let i = 1; i <= LIMIT; i++) t.equal(await fail(ATTACKER, `198.51.100.${i}`), 401)
  t.equal(await fail(ATTACKER, VICTIM), 429, 'the socket address is counted')
  t.equal(await fail(VICTIM), 401)
})
