import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

const GOOD = {
  DATABASE_URL: 'postgres://fgpat:secret@db.internal:5432/fgpat',
  REDIS_URL: 'redis://cache.internal:6379/0',
  TOKEN_PEPPERS: 'a'.repeat(32),
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
}

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return ''
}

t.test('a good environment gives a frozen, typed config with defaults', async (t) => {
  const config = loadConfig({ ...GOOD, TOKEN_PEPPERS: `${'a'.repeat(32)}, ${'b'.repeat(40)}`, PORT: '8080' })
  t.ok(Object.isFrozen(config))
  t.match(config, {
    nodeEnv: 'development',
    host: '127.0.0.1',
    port: 8080,
    databaseUrl: GOOD.DATABASE_URL,
    redisUrl: GOOD.REDIS_URL,
    redisKeyPrefix: 'fgpat:',
    tokenPeppers: ['a'.repeat(32), 'b'.repeat(40)],
    tokenPrefix: 'fgpat-',
    legacyTokenPrefix: 'lgpat-',
    logLevel: 'info',
    maxTokenLifetimeDays: 365,
    requireTokenExpiry: true,
    trustProxy: false,
    cacheL1: true,
    cacheL1Entries: 200_000,
    publicUrl: 'http://127.0.0.1:8080',
    auth: { jwksUrl: GOOD.AUTH_JWKS_URL, jwtSecret: '' },
  })
  t.equal(loadConfig({ ...GOOD, CACHE_L1_ENTRIES: '5000' }).cacheL1Entries, 5000)
  t.equal(loadConfig({ ...GOOD, HOST: '0.0.0.0' }).publicUrl, 'http://localhost:3000')
  t.equal(loadConfig({ ...GOOD, NODE_ENV: 'production', MAX_TOKEN_LIFETIME_DAYS: '400' }).maxTokenLifetimeDays, 400)
  t.equal(loadConfig({ ...GOOD, AUTH_JWKS_URL: undefined, AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.jwtSecret, 'x'.repeat(32))
})

const BAD: Array<[string, Record<string, string | undefined>, string]> = [
  ['a PORT that is not a port', { PORT: 'eighty' }, 'PORT'],
  ['a PORT out of range', { PORT: '70000' }, 'PORT'],
  ['a pepper shorter than 32 characters', { TOKEN_PEPPERS: 'short' }, 'TOKEN_PEPPERS'],
  ['one short pepper in the list', { TOKEN_PEPPERS: `${'a'.repeat(32)},tooshort` }, 'TOKEN_PEPPERS'],
  ['a TOKEN_PREFIX without the dash', { TOKEN_PREFIX: 'fgpat' }, 'TOKEN_PREFIX'],
  ['an upper-case TOKEN_PREFIX', { TOKEN_PREFIX: 'FGPAT-' }, 'TOKEN_PREFIX'],
  ['a missing DATABASE_URL', { DATABASE_URL: undefined }, 'DATABASE_URL'],
  ['a DATABASE_URL that is not a URL', { DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
  ['a missing REDIS_URL', { REDIS_URL: undefined }, 'REDIS_URL'],
  ['no key source for caller JWTs', { AUTH_JWKS_URL: undefined }, 'AUTH_JWKS_URL / AUTH_JWT_KEYS / AUTH_JWT_SECRET'],
  ['an AUTH_JWKS_URL that is not a URL', { AUTH_JWKS_URL: 'jwks.json' }, 'AUTH_JWKS_URL'],
  ['a short AUTH_JWT_SECRET', { AUTH_JWT_SECRET: 'too-short' }, 'AUTH_JWT_SECRET'],
  ['AUTH_JWT_SECRET in production', { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }, 'AUTH_JWT_SECRET'],
  ['a bad LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ['MAX_TOKEN_LIFETIME_DAYS above 400', { MAX_TOKEN_LIFETIME_DAYS: '401' }, 'MAX_TOKEN_LIFETIME_DAYS'],
  ['MAX_TOKEN_LIFETIME_DAYS of 0', { MAX_TOKEN_LIFETIME_DAYS: '0' }, 'MAX_TOKEN_LIFETIME_DAYS'],
  ['CACHE_L1_ENTRIES below 100', { CACHE_L1_ENTRIES: '99' }, 'CACHE_L1_ENTRIES'],
  ['CACHE_L1_ENTRIES that is not a number', { CACHE_L1_ENTRIES: '200k' }, 'CACHE_L1_ENTRIES'],
  ['an unknown NODE_ENV', { NODE_ENV: 'staging' }, 'NODE_ENV'],
  ['an SMTP_URL that is not a URL', { SMTP_URL: 'mail server' }, 'SMTP_URL'],
  ['REDIS_URL and REDIS_CLUSTER_NODES both', { REDIS_CLUSTER_NODES: '10.0.0.1:7000' }, 'REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS'],
  ['a REDIS_CLUSTER_NODES entry without a port', { REDIS_URL: undefined, REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' }, 'REDIS_CLUSTER_NODES'],
  ['REDIS_SENTINELS without REDIS_SENTINEL_NAME', { REDIS_URL: undefined, REDIS_SENTINELS: '10.0.0.1:26379' }, 'REDIS_SENTINEL_NAME'],
  ['REDIS_SENTINEL_NAME without REDIS_SENTINELS', { REDIS_SENTINEL_NAME: 'mymaster' }, 'REDIS_SENTINEL_NAME / REDIS_SENTINEL_PASSWORD'],
  ['REDIS_PASSWORD beside REDIS_URL', { REDIS_PASSWORD: 'secret' }, 'REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS'],
]

for (const [what, change, variable] of BAD) {
  t.test(`rejects ${what}, naming ${variable}`, async (t) => {
    const message = problemsOf({ ...GOOD, ...change })
    t.match(message, /^Invalid configuration:/, 'throws a ConfigError')
    t.ok(message.includes(`  - ${variable}:`), `the message names ${variable}: ${JSON.stringify(message)}`)
  })
}

t.test('Redis: one node, a cluster or Sentinel', async (t) => {
  t.same(loadConfig(GOOD).redis, { kind: 'single', url: GOOD.REDIS_URL })
  const cluster = loadConfig({ ...GOOD, REDIS_URL: undefined, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, [::1]:7001 ', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' })
  t.same(cluster.redis, { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }], username: '', password: 'pw', tls: true })
  t.equal(cluster.redisUrl, '')
  const sentinel = loadConfig({ ...GOOD, REDIS_URL: undefined, REDIS_SENTINELS: 'a:26379,b:26379', REDIS_SENTINEL_NAME: 'mymaster' })
  t.match(sentinel.redis, { kind: 'sentinel', sentinels: [{ host: 'a', port: 26379 }, { host: 'b', port: 26379 }], name: 'mymaster' })
})

t.test('reports every problem at once', async (t) => {
  const message = problemsOf({ ...GOOD, PORT: 'x', LOG_LEVEL: 'loud', TOKEN_PREFIX: '-' })
  for (const variable of ['PORT', 'LOG_LEVEL', 'TOKEN_PREFIX']) t.ok(message.includes(`  - ${variable}:`), variable)
})
