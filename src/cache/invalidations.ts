// What this process knows about changes: the newest version of each cache key it has heard of (its
// "floor"), and whether it can be sure it hears every change at all (`trusted`), which is what
// allows serving from the in-process tier.
//
// Changes arrive on two channels:
// - PostgreSQL NOTIFY (pg-listener.ts), sent by triggers in the writing transaction: complete (every
//   committed change, whoever wrote it) and independent of Redis. Its heartbeat is the basis of
//   trust: the in-process tier is used only while a heartbeat sent less than `maxSilenceMs` ago has
//   been answered. So once a change has committed, every instance stops serving the old state
//   within about `maxSilenceMs`, whatever is down: a live listener hears the change, a dead one
//   stops the trust.
// - Redis pub/sub, published by the writer right after its compare-and-set write-through: fast, and
//   the proof that the write-through reached Redis (same connection, in order).
//
// A change heard from PostgreSQL but not confirmed over Redis within REPAIR_GRACE_MS (the writer
// could not reach Redis, or died) leaves Redis holding an older version. Every instance that heard
// it then writes a tombstone at the new version into Redis ("read PostgreSQL", see CAS_SCRIPT in
// policy-cache.ts), retrying while Redis is unreachable, so no instance, present or future, can
// fill itself from the stale entry.
import type { Redis } from 'ioredis'
import type { LRUCache } from 'lru-cache'
import { duplicateRedis, isCluster, type RedisClient } from './redis-client.js'
import { ttlLru } from './ttl-lru.js'
import { Counter, Gauge } from 'prom-client'
import { registry } from '../metrics/registry.js'
import { PgInvalidationListener } from './pg-listener.js'
import type { RedisBreaker } from './redis-breaker.js'

/** Redis entries expire after this: bounded staleness should a write-through and every repair be lost. */
export const ENTRY_TTL_MS = 60 * 60 * 1000
const REPAIR_GRACE_MS = 2000
const REPAIR_EVERY_MS = 500
const MAX_UNCONFIRMED = 200_000

// Writes "<version>|" (a tombstone) unless Redis already holds this version or a newer one.
const TOMBSTONE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|', 'PX', ARGV[2])
return 1`

const received = new Counter({ name: 'fgpat_cache_invalidations_received_total', help: 'Invalidation messages received, by channel', labelNames: ['channel'], registers: [registry] })
const repairs = new Counter({ name: 'fgpat_cache_redis_repairs_total', help: 'Tombstones written into Redis for changes whose write-through was not confirmed', registers: [registry] })
const receivedFromPostgres = received.labels({ channel: 'postgres' })
const receivedFromRedis = received.labels({ channel: 'redis' })
const trustGauge = new Gauge({ name: 'fgpat_cache_l1_trusted', help: '1 while the in-process tier is trusted (the PostgreSQL invalidation heartbeat is recent)', registers: [registry] })

export interface InvalidationsOptions {
  redis: RedisClient
  prefix: string
  breaker: RedisBreaker
  log: { warn: (obj: object, msg: string) => void }
  /** PostgreSQL to LISTEN on. Without it (or until it answers) the in-process tier is never trusted. */
  listenUrl?: string
  /** How long after the last answered heartbeat the in-process tier stays trusted. */
  maxSilenceMs?: number
  /** Keys whose newest version is remembered (default 200,000): as many as L1 holds; half as many confirmations. */
  floorEntries?: number
  heartbeatMs?: number
  /** A heartbeat or connection attempt not answered within this ends the listener's connection. */
  timeoutMs?: number
  /** A newer version of `key` exists: drop what is held for it. */
  onNewer: (key: string, version: number) => void
  /** Trust returns after a silence in which changes may have gone unheard: drop everything held. */
  onResume: () => void
}

type TombstoneRedis = RedisClient & { fgpatTombstone: (key: string, version: number, ttl: number) => Promise<number> }

export class Invalidations {
  readonly channel: string
  private readonly floors: LRUCache<string, number>
  private trustedUntil = 0
  private readonly maxSilenceMs: number
  private subscriber: RedisClient | undefined
  private listener: PgInvalidationListener | undefined
  private repairTimer: NodeJS.Timeout | undefined
  /** Changes heard from PostgreSQL whose write-through Redis has not confirmed yet. */
  private readonly unconfirmed = new Map<string, { version: number; heardAt: number }>()
  /** The newest version of each key announced over Redis lately (the write-through reached Redis). */
  private readonly confirmed: LRUCache<string, number>

  constructor(private readonly opts: InvalidationsOptions) {
    this.channel = `${opts.prefix}invalidate`
    this.maxSilenceMs = opts.maxSilenceMs ?? 750
    const entries = opts.floorEntries ?? 200_000
    this.floors = ttlLru(entries, ENTRY_TTL_MS)
    this.confirmed = ttlLru(Math.ceil(entries / 2), 60_000)
    opts.redis.defineCommand('fgpatTombstone', { numberOfKeys: 1, lua: TOMBSTONE_SCRIPT })
  }

  /** Whether this process can be sure it has heard every change committed more than `maxSilenceMs` ago. */
  get trusted(): boolean {
    return Date.now() < this.trustedUntil
  }

  /** The newest version of `key` this process has heard of (0: none). */
  floor(key: string): number {
    return this.floors.get(key) ?? 0
  }

  /** A newer version of `key` exists (this process wrote it, or heard of it); `ttlMs` for a floor that should not last the usual hour. */
  raise(key: string, version: number, ttlMs?: number): void {
    // Heard already (a change arrives by PostgreSQL, by Redis and, on its writer, from refresh):
    // what it invalidates was dropped then.
    if (ttlMs === undefined && (this.floors.get(key) ?? 0) >= version) return
    if ((this.floors.get(key) ?? 0) < version) this.floors.set(key, version, ttlMs === undefined ? undefined : { ttl: ttlMs })
    this.opts.onNewer(key, version)
  }

  start(): void {
    this.subscribeRedis()
    if (this.opts.listenUrl) {
      this.listener = new PgInvalidationListener({
        connectionString: this.opts.listenUrl,
        heartbeatMs: this.opts.heartbeatMs ?? 200,
        timeoutMs: this.opts.timeoutMs ?? 1000,
        log: this.opts.log,
        onMessage: (key, version) => this.heardFromPostgres(key, version),
        onVerified: (sentAt) => this.verified(sentAt),
      })
      this.listener.start()
    }
    this.repairTimer = setInterval(() => void this.repair(), REPAIR_EVERY_MS)
    this.repairTimer.unref()
  }

  async stop(): Promise<void> {
    this.trustedUntil = 0
    clearInterval(this.repairTimer)
    this.subscriber?.disconnect()
    await this.listener?.stop()
  }

  private verified(sentAt: number): void {
    if (Date.now() >= this.trustedUntil) {
      // Trust is (re)gained: what is held was filled before a silence and may have missed changes.
      this.opts.onResume()
      trustGauge.set(1)
      this.scheduleLapseGauge()
    }
    this.trustedUntil = Math.max(this.trustedUntil, sentAt + this.maxSilenceMs)
  }

  private lapseTimer: NodeJS.Timeout | undefined
  /** Only for the gauge: trust itself is read from the clock (`trusted`), not from this timer. */
  private scheduleLapseGauge(): void {
    clearTimeout(this.lapseTimer)
    this.lapseTimer = setTimeout(() => {
      if (this.trusted) return this.scheduleLapseGauge()
      trustGauge.set(0)
    }, this.maxSilenceMs)
    this.lapseTimer.unref()
  }

  private heardFromPostgres(key: string, version: number): void {
    receivedFromPostgres.inc()
    this.raise(key, version)
    if ((this.confirmed.get(key) ?? 0) >= version) return
    const seen = this.unconfirmed.get(key)
    if (seen && seen.version >= version) return
    if (this.unconfirmed.size >= MAX_UNCONFIRMED && !seen) {
      this.opts.log.warn({ key }, 'too many unconfirmed cache changes; this one will not be repaired in Redis (its entry expires within the hour)')
      return
    }
    this.unconfirmed.set(key, { version, heardAt: Date.now() })
  }

  private heardFromRedis(message: string): void {
    receivedFromRedis.inc()
    let parsed: { k: string; v: number }
    try {
      parsed = JSON.parse(message) as { k: string; v: number }
    } catch {
      return // not ours
    }
    const { k, v } = parsed
    if (typeof k !== 'string' || !Number.isSafeInteger(v)) return
    this.raise(k, v)
    if ((this.confirmed.get(k) ?? 0) < v) this.confirmed.set(k, v)
    const seen = this.unconfirmed.get(k)
    if (seen && seen.version <= v) this.unconfirmed.delete(k)
  }

  /**
   * Plain SUBSCRIBE, on one node and on a cluster alike. A cluster forwards every PUBLISH to all its
   * nodes, so the subscriber may sit on any node (ioredis picks one and moves, resubscribing, when
   * that node goes away). Not sharded pub/sub (SSUBSCRIBE): a sharded channel lives in one slot, so
   * one channel would put all traffic on one master anyway, and one channel per master would need a
   * subscription per shard that follows resharding. Invalidations are one message per change (writes
   * are rare next to decisions), so the cluster bus carries little. A message lost while the
   * subscriber moves is not a stale answer: trust rests on the PostgreSQL channel (see above), and a
   * change not confirmed here is repaired with a tombstone.
   */
  private subscribeRedis(): void {
    const sub = duplicateRedis(this.opts.redis, { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, lazyConnect: false })
    this.subscriber = sub
    sub.on('error', (err: Error) => this.opts.log.warn({ err: err.message }, 'invalidation subscriber error'))
    sub.on('ready', () => {
      sub.subscribe(this.channel).catch((err: Error) => this.opts.log.warn({ err: err.message }, 'subscribe failed'))
    })
    sub.on('message', (_channel: string, message: string) => this.heardFromRedis(message))
  }

  /** Tombstones for the changes Redis has not confirmed after REPAIR_GRACE_MS; retried until Redis takes them. */
  private async repair(): Promise<void> {
    const now = Date.now()
    const due: [string, number][] = []
    // Oldest first (insertion order): a long list (a bulk load while Redis is away) is walked a
    // few thousand entries per tick, not all of it every half second.
    let scanned = 0
    for (const [key, { version, heardAt }] of this.unconfirmed) {
      if (++scanned > 5000 || due.length >= 1000) break
      if (heardAt < now - ENTRY_TTL_MS) this.unconfirmed.delete(key) // its Redis entry has expired by now
      else if (heardAt <= now - REPAIR_GRACE_MS) due.push([key, version])
    }
    if (due.length === 0 || !this.opts.breaker.usable) return
    let results: [Error | null, unknown][] | null
    try {
      results = isCluster(this.opts.redis) ? await this.tombstonesOnCluster(due) : await this.tombstones(due)
    } catch (err) {
      this.opts.breaker.failed()
      this.opts.log.warn({ err: (err as Error).message }, 'could not repair Redis entries; retrying')
      return
    }
    this.opts.breaker.succeeded()
    due.forEach(([key, version], i) => {
      if (results?.[i]?.[0]) return // this one failed: try again next time
      if (results?.[i]?.[1] === 1) repairs.inc()
      if (this.unconfirmed.get(key)?.version === version) this.unconfirmed.delete(key)
    })
  }

  private tombstones(due: [string, number][]): Promise<[Error | null, unknown][] | null> {
    const pipeline = this.opts.redis.pipeline() as ReturnType<Redis['pipeline']> & { fgpatTombstone: TombstoneRedis['fgpatTombstone'] }
    for (const [key, version] of due) pipeline.fgpatTombstone(this.opts.prefix + key, version, ENTRY_TTL_MS)
    return pipeline.exec()
  }

  /** Redis Cluster: no pipeline across masters; one call each (auto-pipelined per master where enabled). Fails only when all do. */
  private async tombstonesOnCluster(due: [string, number][]): Promise<[Error | null, unknown][]> {
    const redis = this.opts.redis as TombstoneRedis
    const settled = await Promise.allSettled(due.map(([key, version]) => redis.fgpatTombstone(this.opts.prefix + key, version, ENTRY_TTL_MS)))
    const results = settled.map((s): [Error | null, unknown] => (s.status === 'fulfilled' ? [null, s.value] : [s.reason as Error, undefined]))
    if (results.length > 0 && results.every(([err]) => err)) throw results[0][0] as Error
    return results
  }
}
