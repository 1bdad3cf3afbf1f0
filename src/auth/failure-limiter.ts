// Failed authentications per client address, counted in Redis so every API instance sees the same
// total (N instances no longer allow N times the limit). Only failures reach this file: a request
// with a valid credential never asks it anything (see authenticateLimited in plugin.ts).
import { isIPv4, isIPv6 } from 'node:net'
import type { RedisClient } from '../cache/redis-client.js'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'

export interface FailureVerdict {
  /** Over the limit: answer 429 instead of 401. */
  limited: boolean
  /** When the address may fail again (the window opened by its first failure ends). */
  retryAfterMs: number
}

export interface FailureLimiterOptions {
  redis: RedisClient
  /** Redis key prefix (the app's), so several deployments can share one Redis. */
  prefix: string
  /** Failures allowed per address in a window; the next one is limited. */
  limit: number
  windowSeconds?: number
  /** Longest wait for Redis before this process counts on its own (the insurance limiter). */
  redisTimeoutMs?: number
  /** After a Redis error or timeout, how long to count in memory without asking Redis again. */
  redisBackoffMs?: number
  onRedisError?: (err: Error) => void
}

/**
 * The key of a client address. IPv6 clients usually hold a whole /64 and can pick any address in
 * it, so they are counted per /64; IPv4 (also IPv4-mapped IPv6) per address.
 */
export function failureKey(ip: string | undefined): string {
  // a socket already closed has no address; such requests share one key rather than failing
  if (!ip) return 'unknown'
  if (isIPv4(ip)) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped && isIPv4(mapped[1])) return mapped[1]
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`
  // Not an address (only possible when TRUST_PROXY trusts more hops than there are proxies):
  // counted as given, bounded so it cannot make a huge Redis key.
  return ip.slice(0, 64)
}

function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined]
  const parse = (part: string | undefined) => (part ? part.split(':').filter((g) => !g.includes('.')) : [])
  const left = parse(head)
  const right = parse(tail)
  const missing = Math.max(0, 8 - left.length - right.length)
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
}

/**
 * Redis is shared by the instances, so it holds the count; when it fails or stalls, each process
 * counts in memory (the insurance limiter) until Redis answers again. Not rate-limiter-flexible's
 * `insuranceLimiter` option: a stalled call must be answered at our timeout, and with that option
 * the same failure would be counted a second time when the stalled call errors later.
 */
export class FailureLimiter {
  private readonly shared: RateLimiterRedis
  private readonly local: RateLimiterMemory
  private readonly timeoutMs: number
  private readonly backoffMs: number
  private redisBackOffUntil = 0

  constructor(private readonly opts: FailureLimiterOptions) {
    const windowSeconds = opts.windowSeconds ?? 60
    this.timeoutMs = opts.redisTimeoutMs ?? 100
    this.backoffMs = opts.redisBackoffMs ?? 1000
    this.shared = new RateLimiterRedis({
      storeClient: opts.redis,
      keyPrefix: `${opts.prefix}authfail`,
      points: opts.limit,
      duration: windowSeconds,
      // Once an address is over the limit this process stops asking Redis about it until the
      // window ends: a flood from one address costs no Redis round trips.
      inMemoryBlockOnConsumed: opts.limit + 1,
      // A disconnected client (enableOfflineQueue off) fails at once rather than queueing.
      rejectIfRedisNotReady: true,
    })
    this.local = new RateLimiterMemory({ keyPrefix: 'authfail', points: opts.limit, duration: windowSeconds })
  }

  /** Counts one failed authentication from `ip`. Never throws; never waits longer than the timeout. */
  async recordFailure(ip: string | undefined): Promise<FailureVerdict> {
    const key = failureKey(ip)
    if (Date.now() >= this.redisBackOffUntil) {
      const shared = await this.bounded(this.shared.consume(key))
      if (shared !== undefined) return shared
      this.redisBackOffUntil = Date.now() + this.backoffMs
    }
    return verdictOf(await settle(this.local.consume(key))) ?? { limited: false, retryAfterMs: 0 }
  }

  /** The verdict from Redis, or undefined when Redis failed or did not answer in time. */
  private async bounded(consumed: Promise<RateLimiterRes>): Promise<FailureVerdict | undefined> {
    let timer: NodeJS.Timeout | undefined
    let late = false
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        late = true
        this.opts.onRedisError?.(new Error(`Redis did not answer within ${this.timeoutMs} ms`))
        resolve(undefined)
      }, this.timeoutMs)
    })
    const answered = settle(consumed).then((outcome) => {
      // The client's own commandTimeout is the same bound: one stall is reported once
      if (outcome.error && !late) this.opts.onRedisError?.(outcome.error)
      return verdictOf(outcome)
    })
    try {
      return await Promise.race([answered, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }
}

type Outcome = { res: RateLimiterRes; limited: boolean; error?: undefined } | { error: Error }

// rate-limiter-flexible rejects with a RateLimiterRes when over the limit, with an Error when the
// store failed: tell the two apart once, here.
function settle(consumed: Promise<RateLimiterRes>): Promise<Outcome> {
  return consumed.then(
    (res) => ({ res, limited: false }),
    (err: unknown) => (err instanceof RateLimiterRes ? { res: err, limited: true } : { error: err instanceof Error ? err : new Error(String(err)) }),
  )
}

function verdictOf(outcome: Outcome): FailureVerdict | undefined {
  if (outcome.error) return undefined
  return { limited: outcome.limited, retryAfterMs: Math.max(0, outcome.res.msBeforeNext) }
}
