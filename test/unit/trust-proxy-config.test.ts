// TRUST_PROXY: false, true (one proxy), a hop count, or the trusted proxies' addresses and ranges.
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

const GOOD = {
  DATABASE_URL: 'postgres://fgpat:secret@db.internal:5432/fgpat',
  REDIS_URL: 'redis://cache.internal:6379/0',
  TOKEN_PEPPERS: 'a'.repeat(32),
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
}

const trustOf = (value: string | undefined) => loadConfig({ ...GOOD, TRUST_PROXY: value }).trustProxy

t.test('accepted values', async (t) => {
  t.equal(trustOf(undefined), false, 'default: the socket address is the client')
  t.equal(trustOf('false'), false)
  t.equal(trustOf('0'), false)
  t.equal(trustOf('true'), 1, 'true is one proxy: the right-most X-Forwarded-For entry, never the client-written left-most')
  t.equal(trustOf('TRUE'), 1)
  t.equal(trustOf('2'), 2)
  t.same(trustOf('10.0.0.0/8, 192.168.1.7'), ['10.0.0.0/8', '192.168.1.7'])
  t.same(trustOf('fd00::/8,::1,loopback'), ['fd00::/8', '::1', 'loopback'])
})

t.test('rejected values name TRUST_PROXY and say what is accepted', async (t) => {
  for (const bad of ['yes', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '300.1.1.1', '10.0.0.0/x', '-1', '64', 'proxy.internal']) {
    try {
      loadConfig({ ...GOOD, TRUST_PROXY: bad })
      t.fail(`${bad} was accepted`)
    } catch (err) {
      t.ok(err instanceof ConfigError, bad)
      t.match((err as Error).message, /TRUST_PROXY: .*(IP address or CIDR|proxy hops)/, `${bad}: ${(err as Error).message}`)
    }
  }
})
