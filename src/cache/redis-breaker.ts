// Whether the hot path should ask Redis at all. A Redis that stops answering without closing the
// connection (a stalled process, a partition) makes every command wait for its timeout
// (REDIS_COMMAND_TIMEOUT): paying that on every cache miss would put a floor under every decision's
// latency. After a failure the cache goes straight to PostgreSQL for `backoffMs`; then one read
// (the probe) tries Redis again while the others keep going to PostgreSQL until it answers.
export class RedisBreaker {
  private openUntil = 0
  private probing = false

  constructor(private readonly backoffMs = 1000) {}

  /** True when a Redis call may be made now (and, after a failure, makes the caller the probe). */
  get usable(): boolean {
    if (this.openUntil === 0) return true
    if (this.probing || Date.now() < this.openUntil) return false
    this.probing = true
    return true
  }

  get open(): boolean {
    return this.openUntil !== 0
  }

  succeeded(): void {
    this.openUntil = 0
    this.probing = false
  }

  failed(): void {
    this.openUntil = Date.now() + this.backoffMs
    this.probing = false
  }
}

// ioredis' errors when Redis is gone or slow: a command past its timeout, a closed connection,
// no offline queue, or retries exhausted; on a cluster also a master down (CLUSTERDOWN, slots not
// served), a client still finding the slot map, or a failover in progress. Anything else from Redis is a bug to see, not a 503.
const UNAVAILABLE = /command timed out|connection is closed|stream isn't writeable|enableofflinequeue|reached the max retries|econnrefused|econnreset|etimedout|connect etimedout|socket closed unexpectedly|clusterdown|cluster isn't ready|failed to refresh slots cache|too many cluster redirections|tryagain|none of startup nodes is available|all sentinels are unreachable/i

export function isRedisUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { name, message } = err as { name?: unknown; message?: unknown }
  return name === 'MaxRetriesPerRequestError' || (typeof message === 'string' && UNAVAILABLE.test(message))
}
