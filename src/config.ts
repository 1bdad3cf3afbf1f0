// Environment → typed, validated, frozen configuration. The only module that reads process.env
// (through the `env` argument, so tests pass their own).
import { createPublicKey } from 'node:crypto'
import { isIP } from 'node:net'
import { bool, cleanEnv, makeValidator, port, str, url } from 'envalid'
import { parseAllowedRanges } from './domain/webhook-targets.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const peppers = makeValidator<string[]>((input) => {
  const list = input.split(',').map((s) => s.trim()).filter(Boolean)
  if (list.length === 0) throw new Error('needs at least one pepper')
  for (const p of list) if (p.length < 32) throw new Error('each pepper must be at least 32 characters')
  return list
})

const tokenPrefix = makeValidator<string>((input) => {
  if (!/^[a-z][a-z0-9]{1,15}-$/.test(input)) {
    throw new Error('must be 2-16 lowercase letters/digits followed by "-", e.g. "fgpat-"')
  }
  return input
})

const optionalUrl = makeValidator<string>((input) => {
  if (input === '') return ''
  try {
    new URL(input)
  } catch {
    throw new Error(`"${input}" is not a URL`)
  }
  return input
})

/** "host:port,host:port" (REDIS_CLUSTER_NODES, REDIS_SENTINELS); empty: not used. */
const hostPorts = makeValidator<RedisNode[]>((input) => {
  const list = input.split(',').map((s) => s.trim()).filter(Boolean)
  return list.map((entry) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry)
    const portNumber = m ? Number(m[2]) : 0
    if (!m || portNumber < 1 || portNumber > 65535) throw new Error(`"${entry}" is not host:port (comma-separate several, e.g. 10.0.0.1:7000,10.0.0.2:7000)`)
    return { host: m[1].replace(/^\[|\]$/g, ''), port: portNumber }
  })
})

export interface RedisNode {
  host: string
  port: number
}

/**
 * Which Redis the service uses: one node (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES: seed
 * nodes; the rest is discovered) or a Sentinel-managed primary (REDIS_SENTINELS + REDIS_SENTINEL_NAME).
 * Every client is made from it by src/cache/redis-client.ts.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: RedisNode[]; username: string; password: string; tls: boolean }
  | { kind: 'sentinel'; sentinels: RedisNode[]; name: string; username: string; password: string; sentinelPassword: string; tls: boolean }

const logLevel = makeValidator<string>((input) => {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
  if (!levels.includes(input)) throw new Error(`must be one of ${levels.join(', ')}`)
  return input
})

const hourOfDay = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 0 || n > 23) throw new Error('must be an hour of the day, 0-23 (UTC)')
  return n
})

/** CACHE_L1_ENTRIES: below 100 the tier would hold next to nothing; above 10 million, gigabytes. */
const cacheEntries = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 100 || n > 10_000_000) throw new Error('must be a whole number of entries, 100 to 10000000')
  return n
})

const nonNegativeInt = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 0) throw new Error('must be a whole number, 0 or more')
  return n
})

/**
 * TRUST_PROXY: which peers may say who the client is (X-Forwarded-For). `true` means one proxy
 * (the right-most X-Forwarded-For entry is the client): trusting every hop would make the left-most
 * entry, which the client writes itself, the address. Fastify takes the result as `trustProxy`.
 */
export function parseTrustProxy(input: string): false | number | string[] {
  const value = input.trim().toLowerCase()
  if (value === '' || value === 'false' || value === '0') return false
  if (value === 'true') return 1
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (hops > 32) throw new Error(`${hops} proxy hops is more than any deployment has; give the number of proxies in front of the service`)
    return hops
  }
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean)
  for (const entry of entries) {
    if (!isTrustedProxyEntry(entry)) {
      throw new Error(`"${entry}" is not an IP address or CIDR range; use false, true (one proxy), a hop count, or a comma-separated list such as 10.0.0.0/8,192.168.1.7`)
    }
  }
  return entries
}

const PROXY_ADDRESS_SETS = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isTrustedProxyEntry(entry: string): boolean {
  if (PROXY_ADDRESS_SETS.has(entry)) return true
  const [address, bits, extra] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

const webhookRanges = makeValidator<string[]>((input) => parseAllowedRanges(input))

const trustProxy = makeValidator<false | number | string[]>((input) => parseTrustProxy(input))

const processCount = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error('must be a whole number of processes, 1 to 256')
  return n
})

const positiveDays = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 1) throw new Error('must be a whole number of days, 1 or more')
  return n
})

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "15m", "1h", "1d" or plain milliseconds; at least one second (it paces background jobs). */
export function parseDuration(input: string): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(input)
  if (!m) throw new Error(`"${input}" is not a duration: use e.g. 30m, 1h, 1d or milliseconds`)
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']
  if (ms < 1000) throw new Error('must be at least 1s')
  return ms
}

const duration = makeValidator<number>((input) => parseDuration(input))

const portOrOff = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('must be a port number (1-65535), or 0 for off')
  return n
})

/** Milliseconds, at least `min`. */
const millis = (min: number, max: number) => makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`must be a whole number of milliseconds from ${min} to ${max}`)
  return n
})

const lifetimeDays = makeValidator<number>((input) => {
  const n = Number(input)
  if (!Number.isInteger(n) || n < 1 || n > 400) throw new Error('must be a whole number of days from 1 to 400')
  return n
})

/** A secret scanner's signing key (GitHub's secret-scanning partner program). */
export interface LeakReportKey {
  keyIdentifier: string
  /** The public key as configured (PEM, SPKI): ECDSA P-256. */
  pem: string
}

/**
 * LEAK_REPORT_PUBLIC_KEYS: the keys leak reports may be signed with, as GitHub publishes them at
 * https://api.github.com/meta/public_keys/secret_scanning — a JSON array of
 * `{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----..."}` (other fields, such as
 * is_current, are ignored). Every key must be an ECDSA P-256 public key.
 */
export function parseLeakReportKeys(input: string): LeakReportKey[] {
  if (input.trim() === '') return []
  let list: unknown
  try {
    list = JSON.parse(input)
  } catch {
    throw new Error('must be a JSON array of {"key_identifier", "key"} objects (the key in PEM)')
  }
  if (!Array.isArray(list)) throw new Error('must be a JSON array of {"key_identifier", "key"} objects (the key in PEM)')
  if (list.length > 100) throw new Error('at most 100 keys')
  const seen = new Set<string>()
  return list.map((entry: unknown, i) => {
    const { key_identifier: id, key } = (entry ?? {}) as Record<string, unknown>
    if (typeof id !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(id)) throw new Error(`entry ${i}: key_identifier must be 1-200 printable characters`)
    if (seen.has(id)) throw new Error(`entry ${i}: key_identifier "${id}" appears twice`)
    seen.add(id)
    if (typeof key !== 'string') throw new Error(`entry ${i} (${id}): key must be a PEM public key`)
    let details: { asymmetricKeyType?: string; namedCurve?: string }
    try {
      const k = createPublicKey(key)
      details = { asymmetricKeyType: k.asymmetricKeyType, namedCurve: k.asymmetricKeyDetails?.namedCurve }
    } catch {
      throw new Error(`entry ${i} (${id}): key is not a PEM public key`)
    }
    if (details.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') throw new Error(`entry ${i} (${id}): key must be an ECDSA P-256 public key`)
    return { keyIdentifier: id, pem: key }
  })
}

const leakReportKeys = makeValidator<LeakReportKey[]>((input) => parseLeakReportKeys(input))

export interface Config {
  nodeEnv: string
  host: string
  port: number
  dataDir: string
  databaseUrl: string
  /**
   * PostgreSQL without a transaction-mode pooler in between (DATABASE_URL when unset): migrations
   * (Kysely's migrator holds a session advisory lock) and the cache's LISTEN connection use it.
   */
  databaseDirectUrl: string
  /** The single node's URL; '' on a cluster or behind Sentinel (see `redis`). */
  redisUrl: string
  redis: RedisTarget
  redisKeyPrefix: string
  smtpUrl: string
  mailFrom: string
  publicUrl: string
  tokenPeppers: string[]
  tokenPrefix: string
  legacyTokenPrefix: string
  auth: {
    jwtSecret: string
    jwksUrl: string
    jwtKeys: string
    issuer: string
    audience: string
  }
  logLevel: string
  seedDemo: boolean
  /** Development only: the console offers "sign in as" any directory user (mints AUTH_JWT_SECRET JWTs). */
  consoleDevSignIn: boolean
  maxTokenLifetimeDays: number
  requireTokenExpiry: boolean
  /** GitLab's Admin Mode: a legacy token uses its owner's administrator rights only when it holds admin_mode. */
  adminMode: boolean
  /** Fastify's trustProxy: false, a number of proxy hops, or the trusted proxy addresses/CIDRs. */
  trustProxy: false | number | string[]
  /** Failed authentications allowed per client IP per minute before 429 (0: no limit). */
  authFailureLimit: number
  /** The in-process L1 cache of the hot path (off only to measure or debug the Redis tier). */
  cacheL1: boolean
  /** Entries L1 holds; its negative and path-id caches hold half as many, its invalidation floors as many. */
  cacheL1Entries: number
  /** How often the worker runs the expiry sweep, in milliseconds. */
  sweepEveryMs: number
  /** The UTC hour from which the sweep sends the day's approval digests (groups with daily_digest). */
  approvalDigestHourUtc: number
  /** Revoke tokens unused for longer than this many days (0: never). */
  autoRevokeUnusedDays: number
  /** token_usage_daily rows older than this many days are deleted. */
  usageRetentionDays: number
  /** A standalone worker serves /metrics on this port (0: off; `npm start` shares the API's). */
  workerMetricsPort: number
  /** API processes `node dist/src/server.js` runs (node:cluster); 1: just this process. */
  webConcurrency: number
  /** How long a Redis command on a request path may take before it counts as failed (the caller falls back to PostgreSQL). */
  redisCommandTimeoutMs: number
  /** PostgreSQL on request paths: each statement, and getting a connection. */
  databaseStatementTimeoutMs: number
  databaseConnectTimeoutMs: number
  /** An /authorize (or batch, introspection) answer that needs I/O: past this, 503 instead of waiting. */
  decisionTimeoutMs: number
  /** L1 is trusted only this long after the last answered invalidation heartbeat. */
  invalidationMaxSilenceMs: number
  /** Graceful close on SIGINT/SIGTERM must finish within this many milliseconds, else the process exits 1. */
  shutdownTimeoutMs: number
  /** An event dispatched this long ago with no delivery and no job left in Redis is dispatched again. */
  outboxRedispatchAfterMs: number
  /** A repeated rotation by the same caller within this is a retry, not a leak. */
  rotationRetryLeewayMs: number
  /** A job whose worker died is taken up by another after about this long (BullMQ lock and stalled check). */
  jobLockDurationMs: number
  /** Public keys that may sign leak reports (POST /api/v4/secret_scanning/reports); none: JWT callers only. */
  leakReportPublicKeys: LeakReportKey[]
  /** CIDR ranges webhooks may reach although they are loopback/private/link-local (and where plain http is allowed). */
  webhookAllowedRanges: string[]
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const problems: string[] = []
  const e = cleanEnv(
    env,
    {
      NODE_ENV: str({ choices: ['development', 'production', 'test'], default: 'development' }),
      HOST: str({ default: '127.0.0.1' }),
      PORT: port({ default: 3000 }),
      DATA_DIR: str({ default: '.data' }),
      DATABASE_URL: url({ desc: 'PostgreSQL connection string, e.g. postgres://user:pass@host:5432/fgpat; may point at PgBouncer in transaction mode (README, "Behind PgBouncer")' }),
      DATABASE_DIRECT_URL: optionalUrl({ default: '', desc: 'PostgreSQL reached directly (or through a session-mode pooler), for migrations and the cache invalidation LISTEN; required when DATABASE_URL is a transaction-mode pooler such as PgBouncer; default DATABASE_URL' }),
      REDIS_URL: optionalUrl({ default: '', desc: 'Redis connection string, e.g. redis://host:6379/0 (one node; or REDIS_CLUSTER_NODES, or REDIS_SENTINELS)' }),
      REDIS_CLUSTER_NODES: hostPorts({ default: [], desc: 'Redis Cluster seed nodes, e.g. 10.0.0.1:7000,10.0.0.2:7000 (instead of REDIS_URL)' }),
      REDIS_SENTINELS: hostPorts({ default: [], desc: 'Redis Sentinels, e.g. 10.0.0.1:26379,10.0.0.2:26379 (instead of REDIS_URL; with REDIS_SENTINEL_NAME)' }),
      REDIS_SENTINEL_NAME: str({ default: '', desc: 'the primary\'s name the Sentinels monitor, e.g. mymaster' }),
      REDIS_SENTINEL_PASSWORD: str({ default: '', desc: 'password of the Sentinels themselves (requirepass on the Sentinels)' }),
      REDIS_USERNAME: str({ default: '', desc: 'ACL user of the cluster or Sentinel-managed nodes (with REDIS_URL, put it in the URL)' }),
      REDIS_PASSWORD: str({ default: '', desc: 'password of the cluster or Sentinel-managed nodes (with REDIS_URL, put it in the URL)' }),
      REDIS_TLS: bool({ default: false, desc: 'TLS to the cluster or Sentinel-managed nodes (with REDIS_URL, use rediss://)' }),
      REDIS_KEY_PREFIX: str({ default: 'fgpat:' }),
      SMTP_URL: optionalUrl({ default: '' }),
      MAIL_FROM: str({ default: 'fgpat <no-reply@fgpat.local>' }),
      PUBLIC_URL: optionalUrl({ default: '' }),
      TOKEN_PEPPERS: peppers({ desc: 'comma-separated HMAC keys (>= 32 chars); the first signs new tokens' }),
      TOKEN_PREFIX: tokenPrefix({ default: 'fgpat-' }),
      AUTH_JWT_SECRET: str({ default: '' }),
      AUTH_JWKS_URL: optionalUrl({ default: '' }),
      AUTH_JWT_KEYS: str({ default: '' }),
      AUTH_ISSUER: str({ default: '' }),
      AUTH_AUDIENCE: str({ default: '' }),
      LOG_LEVEL: logLevel({ default: 'info' }),
      SEED_DEMO: bool({ default: true }),
      CONSOLE_DEV_SIGN_IN: bool({ default: false, desc: 'development only: the console signs in as any directory user (needs AUTH_JWT_SECRET; npm start turns it on)' }),
      MAX_TOKEN_LIFETIME_DAYS: lifetimeDays({ default: 365 }),
      REQUIRE_TOKEN_EXPIRY: bool({ default: true }),
      ADMIN_MODE: bool({ default: false, desc: "GitLab's Admin Mode: legacy tokens need the admin_mode scope for administrator actions" }),
      TRUST_PROXY: trustProxy({ default: false, desc: 'false, true (one proxy), a hop count, or trusted proxy IPs/CIDRs' }),
      AUTH_FAILURE_LIMIT: nonNegativeInt({ default: 30 }),
      CACHE_L1: bool({ default: true }),
      CACHE_L1_ENTRIES: cacheEntries({ default: 200_000, desc: 'entries the in-process tier holds (its bookkeeping holds as many, or half); each cache reserves its slots at start' }),
      SWEEP_EVERY: duration({ default: 3_600_000, desc: 'how often the expiry sweep runs, e.g. 1h, 30m or milliseconds' }),
      APPROVAL_DIGEST_HOUR_UTC: hourOfDay({ default: 8, desc: 'UTC hour (0-23) from which the sweep mails the daily approval digests of groups with approval_notifications daily_digest' }),
      AUTO_REVOKE_UNUSED_DAYS: nonNegativeInt({ default: 0 }),
      USAGE_RETENTION_DAYS: positiveDays({ default: 400 }),
      WORKER_METRICS_PORT: portOrOff({ default: 0 }),
      WEB_CONCURRENCY: processCount({ default: 1 }),
      REDIS_COMMAND_TIMEOUT_MS: millis(5, 60_000)({ default: 100 }),
      DATABASE_STATEMENT_TIMEOUT_MS: millis(100, 3_600_000)({ default: 5000 }),
      DATABASE_CONNECT_TIMEOUT_MS: millis(50, 60_000)({ default: 2000 }),
      DECISION_TIMEOUT_MS: millis(50, 60_000)({ default: 1000 }),
      INVALIDATION_MAX_SILENCE_MS: millis(250, 60_000)({ default: 750 }),
      SHUTDOWN_TIMEOUT: duration({ default: 10_000, desc: 'bound on a graceful shutdown, e.g. 10s' }),
      ROTATION_RETRY_LEEWAY: duration({ default: 60_000, desc: 'how long a repeated rotation of the same token by the same caller counts as a retry (409 already_rotated, nothing revoked), e.g. 60s' }),
      OUTBOX_REDISPATCH_AFTER: duration({ default: 60_000, desc: 'how long a dispatched event may lack its delivery and its job before it is dispatched again, e.g. 60s' }),
      WEBHOOK_ALLOWED_RANGES: webhookRanges({ default: [], desc: 'CIDR ranges (comma-separated) webhook endpoints may use although private, loopback or link-local; plain http is accepted only there, e.g. 10.20.0.0/16' }),
      JOB_LOCK_DURATION: duration({ default: 30_000, desc: 'how long a dead worker\'s job stays locked before another takes it up, e.g. 30s' }),
      LEAK_REPORT_PUBLIC_KEYS: leakReportKeys({ default: [], desc: 'JSON array of {"key_identifier","key" (PEM, ECDSA P-256)} that may sign leak reports (GitHub secret scanning)' }),
    },
    {
      reporter: ({ errors }) => {
        for (const [name, err] of Object.entries(errors)) {
          if (err) problems.push(`${name}: ${(err as Error).message}`)
        }
      },
    },
  )
  // envalid's result throws on reading a variable that failed validation, so the cross-variable
  // checks below only run on an environment whose variables are each valid.
  if (problems.length > 0) throw new ConfigError(problems)
  if (e.AUTH_JWT_SECRET && e.AUTH_JWT_SECRET.length < 32) {
    problems.push('AUTH_JWT_SECRET: must be at least 32 characters (HS256 development secret)')
  }
  if (!e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL && !e.AUTH_JWT_KEYS) {
    problems.push('AUTH_JWKS_URL / AUTH_JWT_KEYS / AUTH_JWT_SECRET: set one so callers can authenticate')
  }
  if (e.CONSOLE_DEV_SIGN_IN && !e.AUTH_JWT_SECRET) {
    problems.push('CONSOLE_DEV_SIGN_IN: needs AUTH_JWT_SECRET (it signs development JWTs); it is for development only')
  }
  if (e.NODE_ENV === 'production' && e.AUTH_JWT_SECRET) {
    problems.push('AUTH_JWT_SECRET: shared-secret JWTs are for development; use AUTH_JWKS_URL or AUTH_JWT_KEYS in production')
  }
  const redis = redisTargetOf(e, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL || e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redis,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    publicUrl: e.PUBLIC_URL || `http://${e.HOST === '0.0.0.0' ? 'localhost' : e.HOST}:${e.PORT}`,
    tokenPeppers: e.TOKEN_PEPPERS,
    tokenPrefix: e.TOKEN_PREFIX,
    legacyTokenPrefix: 'lgpat-',
    auth: Object.freeze({
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      jwtKeys: e.AUTH_JWT_KEYS,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
    }),
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO,
    consoleDevSignIn: e.CONSOLE_DEV_SIGN_IN,
    maxTokenLifetimeDays: e.MAX_TOKEN_LIFETIME_DAYS,
    requireTokenExpiry: e.REQUIRE_TOKEN_EXPIRY,
    adminMode: e.ADMIN_MODE,
    trustProxy: e.TRUST_PROXY,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    cacheL1: e.CACHE_L1,
    cacheL1Entries: e.CACHE_L1_ENTRIES,
    sweepEveryMs: e.SWEEP_EVERY,
    approvalDigestHourUtc: e.APPROVAL_DIGEST_HOUR_UTC,
    autoRevokeUnusedDays: e.AUTO_REVOKE_UNUSED_DAYS,
    usageRetentionDays: e.USAGE_RETENTION_DAYS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    webConcurrency: e.WEB_CONCURRENCY,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    decisionTimeoutMs: e.DECISION_TIMEOUT_MS,
    invalidationMaxSilenceMs: e.INVALIDATION_MAX_SILENCE_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
    outboxRedispatchAfterMs: e.OUTBOX_REDISPATCH_AFTER,
    rotationRetryLeewayMs: e.ROTATION_RETRY_LEEWAY,
    jobLockDurationMs: e.JOB_LOCK_DURATION,
    leakReportPublicKeys: Object.freeze(e.LEAK_REPORT_PUBLIC_KEYS) as LeakReportKey[],
    webhookAllowedRanges: e.WEBHOOK_ALLOWED_RANGES,
  })
}

/** Exactly one way to reach Redis; the others' settings must not be set (they would be ignored). */
function redisTargetOf(
  e: { REDIS_URL: string; REDIS_CLUSTER_NODES: RedisNode[]; REDIS_SENTINELS: RedisNode[]; REDIS_SENTINEL_NAME: string; REDIS_SENTINEL_PASSWORD: string; REDIS_USERNAME: string; REDIS_PASSWORD: string; REDIS_TLS: boolean },
  problems: string[],
): RedisTarget {
  const chosen = [e.REDIS_URL && 'REDIS_URL', e.REDIS_CLUSTER_NODES.length > 0 && 'REDIS_CLUSTER_NODES', e.REDIS_SENTINELS.length > 0 && 'REDIS_SENTINELS'].filter(Boolean)
  const auth = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, tls: e.REDIS_TLS }
  if (chosen.length !== 1) {
    problems.push(chosen.length === 0
      ? 'REDIS_URL: set it (one Redis node), or REDIS_CLUSTER_NODES (Redis Cluster), or REDIS_SENTINELS with REDIS_SENTINEL_NAME (Sentinel)'
      : `REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS: set only one of them (${chosen.join(' and ')} are set)`)
    return { kind: 'single', url: e.REDIS_URL }
  }
  if (e.REDIS_SENTINELS.length > 0) {
    if (!e.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME: the name of the primary the Sentinels monitor (their "sentinel monitor <name> ..." line), e.g. mymaster')
    return { kind: 'sentinel', sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME, sentinelPassword: e.REDIS_SENTINEL_PASSWORD, ...auth }
  }
  if (e.REDIS_SENTINEL_NAME || e.REDIS_SENTINEL_PASSWORD) problems.push('REDIS_SENTINEL_NAME / REDIS_SENTINEL_PASSWORD: only with REDIS_SENTINELS')
  if (e.REDIS_CLUSTER_NODES.length > 0) return { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES, ...auth }
  if (e.REDIS_USERNAME || e.REDIS_PASSWORD || e.REDIS_TLS) problems.push('REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS: with REDIS_URL, put the credentials in the URL (redis://user:password@host:6379) and use rediss:// for TLS')
  return { kind: 'single', url: e.REDIS_URL }
}

/** For entry points: a bad environment prints what to fix and exits 1 instead of a stack trace. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Readonly<Config> {
  try {
    return loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
}
