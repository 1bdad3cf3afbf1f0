// The hot path's three tiers: L1 (in-process LRU) → Redis policy table → PostgreSQL.
//
// Every entry carries the version of its row. Rules, each written next to the code that keeps it:
// - Writes commit in PostgreSQL first; then `refresh` reloads the entry, writes it through to Redis
//   with a compare-and-set on version (a Lua script), sets L1 and publishes {key, version}.
// - A fill (cache miss) also uses the compare-and-set, so a slow fill that read an older row can
//   never overwrite a newer entry: a revocation is just a newer version with revoked=true.
// - Each key keeps a "floor": the newest version this process has heard of (invalidations.ts).
//   Neither L1 nor a Redis answer is used below its floor, so a fill racing an invalidation cannot
//   resurrect the old state here.
// - L1 is used only while this process can be sure it hears every change
//   (Invalidations.trusted: the PostgreSQL NOTIFY channel's heartbeat is recent); otherwise every
//   lookup goes to Redis (floors still apply) or PostgreSQL, and L1 is cleared when trust returns.
// - Redis slow or gone → PostgreSQL: each Redis command has a short timeout (REDIS_COMMAND_TIMEOUT),
//   and after a failure the breaker sends lookups straight to PostgreSQL for a second. Both down →
//   the PostgreSQL error propagates (503).
import type { Redis } from 'ioredis'
import type { LRUCache } from 'lru-cache'
import { isCluster, type RedisClient } from './redis-client.js'
import { ttlLru } from './ttl-lru.js'
import type { Db } from '../db/index.js'
import { type CounterCell, hotCounter } from '../metrics/hot-counter.js'
import { ENTRY_TTL_MS, Invalidations } from './invalidations.js'
import type { RedisBreaker } from './redis-breaker.js'
import { TurnBatcher } from './turn-batcher.js'
import { yieldToLoop } from '../http/yield.js'
import type { NamespaceEntry, OwnerEntry, TokenEntry } from '../domain/decide.js'
import { DEFAULT_INSTANCE_POLICY, type GroupPolicy, type InstancePolicy } from '../domain/policy.js'
import {
  findNamespaceIdByPath, loadFreshEntries, loadGroupPolicies, loadInstancePolicy, loadNamespace, loadNamespaces, loadOwners, loadTokens,
} from './loaders.js'

// pol:instance and pol:group:<id> hold the governance policies; a policy change refreshes them like
// any other entry, so the very next decision (here and, after pub/sub, everywhere) sees it.
export type CacheKey =
  | { kind: 'tok'; digest: Buffer }
  | { kind: 'acc'; userId: number }
  | { kind: 'ns'; id: number }
  | { kind: 'pol'; groupId: number | null }
type Versioned = { version: number }

const PIPE = 0x7c
const ZERO = 0x30
const L1_TTL_MS = 60 * 1000
export const DEFAULT_L1_ENTRIES = 200_000
const NEGATIVE_TTL_MS = 2000 // unknown digests: brief, and cleared by the token's creation
const UNKNOWN_FLOOR_TTL_MS = 60_000 // a change whose new state could not be read (see refresh)

// compare-and-set: store "<version>|<json>" unless the stored version is already >= ours. A
// tombstone "<version>|" (written by Invalidations' repair: "this version exists, read PostgreSQL")
// gives way to an entry of its own version.
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and (v > tonumber(ARGV[1]) or (v == tonumber(ARGV[1]) and cur ~= ARGV[1] .. '|')) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`

const lookups = hotCounter({ name: 'fgpat_cache_lookups_total', help: 'Hot-path cache lookups by entry kind and the tier that answered', labelNames: ['kind', 'tier'] })
type EntryKind = 'tok' | 'acc' | 'ns' | 'pol'
type Tier = 'l1' | 'redis' | 'postgres'
const LOOKUP_CELLS = Object.fromEntries(
  (['tok', 'acc', 'ns', 'pol'] as const).map((kind) => [kind, Object.fromEntries((['l1', 'redis', 'postgres'] as const).map((tier) => [tier, lookups.cell({ kind, tier })]))]),
) as Record<EntryKind, Record<Tier, CounterCell>>

/**
 * A value now (an L1 hit) or a promise of it (a lower tier must answer). The hot path awaits only
 * a promise, so a fully cached decision runs without yielding to the event loop.
 */
export type MaybePromise<T> = T | Promise<T>

/**
 * What a decision reads after this entry: a token's owner; a namespace's top-level group policy
 * and the instance policy (decideMany, decisionPolicies). Used only to read ahead (readAhead).
 * Made once per entry object (entries are shared and never mutated).
 */
const followingOf = new WeakMap<Versioned, string[]>()
function followingKeys(kind: EntryKind, entry: Versioned): string[] | undefined {
  if (kind !== 'tok' && kind !== 'ns') return undefined
  let keys = followingOf.get(entry)
  if (keys === undefined) {
    keys = kind === 'tok' ? [`acc:${(entry as TokenEntry).userId}`] : [`pol:group:${(entry as NamespaceEntry).traversalIds[0]}`, 'pol:instance']
    followingOf.set(entry, keys)
  }
  return keys
}

/** Thrown to the lookups of a turn whose Redis read the breaker skipped: they go to PostgreSQL. */
const REDIS_SKIPPED = new Error('Redis skipped after a recent failure')

const BOUNDED_MAX = 200_000
function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= BOUNDED_MAX && !map.has(key)) map.clear()
  map.set(key, value)
}

export function keyString(key: CacheKey): string {
  if (key.kind === 'tok') return `tok:${key.digest.toString('hex')}`
  if (key.kind === 'acc') return `acc:${key.userId}`
  if (key.kind === 'pol') return key.groupId === null ? 'pol:instance' : `pol:group:${key.groupId}`
  return `ns:${key.id}`
}

export interface PolicyCacheOptions {
  db: Db
  redis: RedisClient
  prefix: string
  log: { warn: (obj: object, msg: string) => void }
  /** Shared with everything else on the hot path that calls Redis. */
  breaker: RedisBreaker
  /** PostgreSQL to LISTEN on for changes (see Invalidations); without it L1 is never used. */
  listenUrl?: string
  maxSilenceMs?: number
  /** Turn L1 off (benchmarks of the Redis tier). */
  l1?: boolean
  /**
   * Entries L1 holds (default 200,000); the negative and path-id caches hold half as many and the
   * invalidation floors as many. lru-cache reserves every slot up front (~25 MB and a few hundred
   * ms of a start at the default), so an app that will never hold many (tests, the worker) asks for fewer.
   */
  l1Entries?: number
  /** Instance settings until an administrator first saves them (from configuration; built-in defaults otherwise). */
  instanceDefaults?: InstancePolicy
}

export class PolicyCache {
  private readonly l1: LRUCache<string, Versioned>
  private readonly negative: LRUCache<string, true>
  private readonly pathIds: LRUCache<string, number>
  // Key → the keys a decision reads once it has this entry (see followingKeys), as last seen. A
  // hint only: on a miss it lets these reads share one Redis round trip (readAhead); what is
  // decided rests on the entries themselves. Kept with L1 off too, hence no TTL; a plain map,
  // emptied when full (cheaper than an LRU on every lookup; hints are relearnt at the next read).
  private readonly nextKeys = new Map<string, string[]>()
  // The entries of the last Redis read, until the loop turn in which it was answered ends: the
  // lookups that follow in that turn (those read ahead above) take them from here, synchronously.
  private justRead: Map<string, Versioned> | undefined
  private readonly l1Enabled: boolean
  private readonly breaker: RedisBreaker
  /** Redis Cluster: no MGET or pipeline across hash slots (see redisReads and refresh). */
  private readonly cluster: boolean
  readonly invalidations: Invalidations

  constructor(private readonly opts: PolicyCacheOptions) {
    this.l1Enabled = opts.l1 ?? true
    const entries = opts.l1Entries ?? DEFAULT_L1_ENTRIES
    this.l1 = ttlLru(entries, L1_TTL_MS)
    this.negative = ttlLru(Math.ceil(entries / 2), NEGATIVE_TTL_MS)
    this.pathIds = ttlLru(Math.ceil(entries / 2), L1_TTL_MS)
    this.breaker = opts.breaker
    this.cluster = isCluster(opts.redis)
    opts.redis.defineCommand('fgpatCas', { numberOfKeys: 1, lua: CAS_SCRIPT })
    this.invalidations = new Invalidations({
      redis: opts.redis, prefix: opts.prefix, breaker: opts.breaker, log: opts.log, listenUrl: opts.listenUrl, maxSilenceMs: opts.maxSilenceMs,
      floorEntries: entries,
      onNewer: (key, version) => {
        const cached = this.l1.get(key)
        if (cached && cached.version < version) this.l1.delete(key)
        if (key.startsWith('tok:')) this.negative.delete(key)
      },
      onResume: () => {
        this.l1.clear()
        this.negative.clear()
        this.pathIds.clear()
      },
    })
  }

  /** Listens for changes (PostgreSQL NOTIFY and Redis pub/sub); until the first heartbeat is answered, L1 is bypassed. */
  start(): void {
    this.invalidations.start()
  }

  async stop(): Promise<void> {
    await this.invalidations.stop()
  }

  /** Whether L1 may answer: on, and every change is sure to be heard. */
  get l1Active(): boolean {
    return this.l1Enabled && this.invalidations.trusted
  }

  private floor(key: string): number {
    return this.invalidations.floor(key)
  }

  private acceptL1(key: string, entry: Versioned): void {
    // The TTL is spread over its last tenth: entries filled together need not all expire together.
    if (this.l1Active && entry.version >= this.floor(key)) this.l1.set(key, entry, { ttl: L1_TTL_MS * (0.9 + Math.random() / 10) })
  }

  /**
   * Redis reads go through a TurnBatcher: every key asked for while the event loop handles one
   * round of I/O leaves in a single MGET after it; with the keys read ahead (readAhead), a decision
   * whose entries are all in Redis costs one MGET per loop turn. A key asked for by several requests
   * is read once and its entry shared between them (see parseEntry): entries are replaced, never mutated.
   */
  private async redisGet(keys: string[]): Promise<(Versioned | undefined)[] | undefined> {
    try {
      // One pepper (the usual case): no Promise.all around the single read.
      return keys.length === 1 ? [await this.redisReads.get(keys[0])] : await Promise.all(keys.map((k) => this.redisReads.get(k)))
    } catch {
      return undefined // Redis down: the caller falls back to PostgreSQL
    }
  }

  private readonly redisReads = new TurnBatcher<string, Versioned>(async (keys) => {
    if (!this.breaker.usable) throw REDIS_SKIPPED
    // As Buffers: most values are versions this process has parsed already (parseEntry), and only
    // the others need to become strings.
    let values: (Buffer | null)[]
    try {
      values = this.cluster ? await this.clusterGet(keys) : await this.opts.redis.mgetBuffer(...keys.map((k) => this.opts.prefix + k))
    } catch (err) {
      this.breaker.failed()
      throw err
    }
    this.breaker.succeeded()
    const found = new Map<string, Versioned>()
    for (let i = 0; i < keys.length; i++) {
      const raw = values[i]
      // A tombstone ("<version>|", nothing after the bar: no JSON ends so) means "read PostgreSQL".
      if (raw && raw[raw.length - 1] !== PIPE) found.set(keys[i], this.parseEntry(keys[i], raw))
    }
    this.justRead = found
    setImmediate(() => {
      if (this.justRead === found) this.justRead = undefined
    })
    return found
  })

  /**
   * A turn's keys on Redis Cluster. MGET cannot span hash slots (CROSSSLOT), and the keys are not
   * hash-tagged into shared slots on purpose: what one decision reads is shared with other decisions
   * (an owner's `acc:` entry by all their tokens, `ns:` and `pol:group:` by everyone in a group,
   * `pol:instance` by every decision), so no per-token tag can hold them together, and a global
   * tag would put the whole policy table on one master. So one GET per key: the client's
   * auto-pipelining sends a turn's GETs as one pipeline per master, the same round trip as the
   * MGET they replace. Only on a cluster: one node keeps its single MGET (the measured hot path).
   */
  private clusterGet(keys: string[]): Promise<(Buffer | null)[]> {
    return Promise.all(keys.map((k) => this.opts.redis.getBuffer(this.opts.prefix + k)))
  }

  // The last value read from Redis for each key, parsed: a read that returns the same version
  // reuses the object (and what is memoized on it, such as a scope's expanded permissions) instead
  // of parsing it again. A version is one state of its row, and Redis keeps the first text written
  // for it (the compare-and-set refuses an equal version), so the same version means the same
  // entry. Not a cache of state: every read still asks Redis, and any other version is parsed.
  // Entries are replaced, never mutated, so sharing them is safe. A plain map emptied when full,
  // like nextKeys: losing it costs a parse.
  private readonly parsedEntries = new Map<string, Versioned>()

  /**
   * On a miss of `key`, reads the keys that follow it in the same round trip (a token's owner, a
   * namespace's policies): without this, each decision waited for the token before asking for its
   * owner, and for the namespace before asking for the policies. Their entries reach the lookups
   * of the turn in which the read is answered through `justRead` (floors apply as to any Redis
   * read); a hint gone stale costs one unused key in an MGET.
   */
  private readAhead(key: string): void {
    const following = this.nextKeys.get(key)
    if (following === undefined) return
    for (const next of following) {
      if (!(this.l1Active && this.l1.has(next))) this.redisReads.want(next)
    }
  }

  private noteFollowing(kind: EntryKind, key: string, entry: Versioned): void {
    const following = followingKeys(kind, entry)
    if (following !== undefined && this.nextKeys.get(key) !== following) setBounded(this.nextKeys, key, following)
  }

  /** A stored value is "<version>|<json>" (CAS_SCRIPT). */
  private parseEntry(key: string, raw: Buffer): Versioned {
    let version = 0
    let i = 0
    for (; i < raw.length && raw[i] !== PIPE; i++) version = version * 10 + (raw[i] - ZERO)
    const seen = this.parsedEntries.get(key)
    if (seen !== undefined && seen.version === version && i < raw.length) return seen
    const entry = JSON.parse(raw.toString('utf8', i + 1)) as Versioned
    setBounded(this.parsedEntries, key, entry)
    return entry
  }

  // PostgreSQL loads of the hot path's entries, batched the same way: the cold tokens, owners and
  // namespaces of one loop turn are read in one query each.
  private readonly tokenLoads = new TurnBatcher<string, { digest: Buffer; entry: TokenEntry }>((hexes) =>
    loadTokens(this.opts.db, hexes.map((h) => Buffer.from(h, 'hex'))))
  private readonly ownerLoads = new TurnBatcher<number, OwnerEntry>(async (ids) => new Map((await loadOwners(this.opts.db, ids)).map((o) => [o.id, o])))
  private readonly namespaceLoads = new TurnBatcher<number, NamespaceEntry>(async (ids) => new Map((await loadNamespaces(this.opts.db, ids)).map((n) => [n.id, n])))

  private async loadTokenBatched(digests: Buffer[]): Promise<{ digest: Buffer; entry: TokenEntry } | undefined> {
    const found = await Promise.all(digests.map((d) => this.tokenLoads.get(d.toString('hex'))))
    return found.find((t) => t !== undefined)
  }

  private async redisCas(key: string, entry: Versioned): Promise<void> {
    if (!this.breaker.usable) return
    try {
      const redis = this.opts.redis as Redis & { fgpatCas: (key: string, version: number, json: string, ttl: number) => Promise<number> }
      await redis.fgpatCas(this.opts.prefix + key, entry.version, JSON.stringify(entry), ENTRY_TTL_MS)
      this.breaker.succeeded()
    } catch {
      // Redis down: PostgreSQL stays the truth; the next fill writes it
      this.breaker.failed()
    }
  }

  /** L1 → Redis → PostgreSQL for one key whose loader is known; an L1 hit answers synchronously. */
  private get<T extends Versioned>(kind: EntryKind, key: string, load: () => Promise<T | undefined>): MaybePromise<T | undefined> {
    if (this.l1Active) {
      const hit = this.l1.get(key)
      if (hit) {
        LOOKUP_CELLS[kind].l1.n++
        return hit as T
      }
    }
    const read = this.justRead?.get(key)
    if (this.acceptRedis(kind, key, read)) return read as T
    this.readAhead(key)
    return this.fill(kind, key, load)
  }

  /**
   * Whether a Redis answer for `key` may be used: not older than the newest version this process has
   * heard of (its floor, read when the answer is in hand). If so it is counted, offered to L1 and its
   * following keys noted (under `hintKey`: a token's first-pepper key).
   */
  private acceptRedis(kind: EntryKind, key: string, entry: Versioned | undefined, hintKey = key): entry is Versioned {
    if (entry === undefined || entry.version < this.floor(key)) return false
    LOOKUP_CELLS[kind].redis.n++
    this.acceptL1(key, entry)
    this.noteFollowing(kind, hintKey, entry)
    return true
  }

  private async fill<T extends Versioned>(kind: EntryKind, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    let fromRedis: Versioned | undefined
    try {
      fromRedis = await this.redisReads.get(key)
    } catch {
      // Redis down: PostgreSQL answers
    }
    if (this.acceptRedis(kind, key, fromRedis)) return fromRedis as T
    LOOKUP_CELLS[kind].postgres.n++
    const loaded = await load()
    if (loaded) {
      await this.redisCas(key, loaded)
      this.acceptL1(key, loaded)
      this.noteFollowing(kind, key, loaded)
    }
    return loaded
  }

  /** By the token's candidate digests (one per pepper); an L1 hit answers synchronously. */
  token(digests: Buffer[]): MaybePromise<TokenEntry | undefined> {
    const keys = digests.map((d) => `tok:${d.toString('hex')}`)
    if (this.l1Active) {
      for (const key of keys) {
        const hit = this.l1.get(key)
        if (hit) {
          LOOKUP_CELLS.tok.l1.n++
          return hit as TokenEntry
        }
      }
      if (this.negative.get(keys[0])) {
        LOOKUP_CELLS.tok.l1.n++
        return undefined
      }
    }
    this.readAhead(keys[0])
    return this.fillToken(digests, keys)
  }

  private async fillToken(digests: Buffer[], keys: string[]): Promise<TokenEntry | undefined> {
    const fromRedis = (await this.redisGet(keys)) ?? []
    for (let i = 0; i < keys.length; i++) {
      const entry = fromRedis[i]
      if (this.acceptRedis('tok', keys[i], entry, keys[0])) return entry as TokenEntry
    }
    LOOKUP_CELLS.tok.postgres.n++
    const loaded = await this.loadTokenBatched(digests)
    if (!loaded) {
      if (this.l1Active) this.negative.set(keys[0], true)
      return undefined
    }
    const key = `tok:${loaded.digest.toString('hex')}`
    await this.redisCas(key, loaded.entry)
    this.acceptL1(key, loaded.entry)
    this.noteFollowing('tok', keys[0], loaded.entry)
    return loaded.entry
  }

  owner(userId: number): MaybePromise<OwnerEntry | undefined> {
    return this.get('acc', `acc:${userId}`, () => this.ownerLoads.get(userId))
  }

  namespace(id: number): MaybePromise<NamespaceEntry | undefined> {
    return this.get('ns', `ns:${id}`, () => this.namespaceLoads.get(id))
  }

  instancePolicy(): MaybePromise<InstancePolicy> {
    return this.get('pol', 'pol:instance', () => loadInstancePolicy(this.opts.db, this.opts.instanceDefaults ?? DEFAULT_INSTANCE_POLICY)) as MaybePromise<InstancePolicy>
  }

  /** Always an entry: a group without a policy has a version-0 "no policy" one (cached like any other). */
  groupPolicy(groupId: number): MaybePromise<GroupPolicy> {
    return this.get('pol', `pol:group:${groupId}`, async () => (await loadGroupPolicies(this.opts.db, [groupId]))[0]) as MaybePromise<GroupPolicy>
  }

  /**
   * By full path. The path → id map may be stale after a move, so the (versioned, invalidated)
   * namespace entry must still carry that path; otherwise PostgreSQL answers.
   */
  async namespaceByPath(path: string): Promise<NamespaceEntry | undefined> {
    const lower = path.toLowerCase()
    const knownId = this.l1Active ? this.pathIds.get(lower) : undefined
    if (knownId !== undefined) {
      const entry = await this.namespace(knownId)
      if (entry && entry.fullPath.toLowerCase() === lower) return entry
    }
    const id = await findNamespaceIdByPath(this.opts.db, path)
    if (id === undefined) return undefined
    if (this.l1Active) this.pathIds.set(lower, id)
    const entry = await this.namespace(id)
    return entry && entry.fullPath.toLowerCase() === lower ? entry : loadNamespace(this.opts.db, id)
  }

  /**
   * After a committed change: reload the entries (in batches), raise this process's floors, write
   * them through (compare-and-set) and publish the new versions so other instances drop theirs.
   * If PostgreSQL cannot give the new state right now, the keys' floors go up to "unknown" for a
   * minute: neither L1 nor Redis answers for them here, only PostgreSQL (or a 503), so this
   * instance never serves what the change replaced. Other instances hear of the change through
   * PostgreSQL (Invalidations), whether or not this write-through happens.
   */
  async refresh(keys: CacheKey[]): Promise<void> {
    let fresh: [string, Versioned][]
    try {
      fresh = await loadFreshEntries(this.opts.db, keys, this.opts.instanceDefaults ?? DEFAULT_INSTANCE_POLICY)
    } catch (err) {
      for (const key of keys) this.invalidations.raise(keyString(key), Number.MAX_SAFE_INTEGER, UNKNOWN_FLOOR_TTL_MS)
      throw err
    }
    // Locally first, before any Redis I/O: this process never serves the old state again.
    for (const [k, entry] of fresh) this.invalidations.raise(k, entry.version)
    // The floors and L1 are Maps that grow together, and a Map that passes a power of two is copied
    // whole in one step: ~35 ms at 131,072 entries on this machine. In a bulk load both did so in
    // the same loop, holding the event loop twice that (over 100 ms on busy cores). A turn between
    // them parts the two copies; meanwhile the raised floors already keep older versions out.
    if (fresh.length > 0) await yieldToLoop()
    for (const [k, entry] of fresh) this.acceptL1(k, entry)
    // A Redis that failed a moment ago is not waited for: the repair in Invalidations writes what
    // is needed once Redis answers again.
    for (let i = 0; i < fresh.length && this.breaker.usable; i += 500) {
      const chunk = fresh.slice(i, i + 500)
      try {
        if (this.cluster) await this.writeThroughOnCluster(chunk)
        else await this.writeThrough(chunk)
        this.breaker.succeeded()
      } catch (err) {
        this.breaker.failed()
        this.opts.log.warn({ err: (err as Error).message }, 'could not write through or publish; other instances hear of the change through PostgreSQL')
      }
    }
  }

  /** One node: each entry's compare-and-set, then its announcement, in one pipeline (in order on one connection). */
  private async writeThrough(chunk: [string, Versioned][]): Promise<void> {
    const pipeline = this.opts.redis.pipeline() as ReturnType<Redis['pipeline']> & { fgpatCas: (key: string, version: number, json: string, ttl: number) => unknown }
    for (const [k, entry] of chunk) {
      pipeline.fgpatCas(this.opts.prefix + k, entry.version, JSON.stringify(entry), ENTRY_TTL_MS)
      pipeline.publish(this.invalidations.channel, JSON.stringify({ k, v: entry.version }))
    }
    const results = await pipeline.exec()
    const failed = results?.find(([err]) => err)?.[0]
    if (failed) throw failed
  }

  /**
   * Redis Cluster: the entries live on several masters (one pipeline cannot hold them) and PUBLISH
   * goes to any node, so "same connection, in order" no longer proves that a write-through reached
   * Redis before its announcement. So the compare-and-sets are awaited first, and only the entries
   * whose write succeeded are announced: an announcement still means "Redis holds this version"
   * (Invalidations repairs the others with a tombstone).
   */
  private async writeThroughOnCluster(chunk: [string, Versioned][]): Promise<void> {
    const redis = this.opts.redis as RedisClient & { fgpatCas: (key: string, version: number, json: string, ttl: number) => Promise<number> }
    const written = await Promise.allSettled(chunk.map(([k, entry]) => redis.fgpatCas(this.opts.prefix + k, entry.version, JSON.stringify(entry), ENTRY_TTL_MS)))
    await Promise.all(chunk.flatMap(([k, entry], i) => (written[i].status === 'fulfilled' ? [redis.publish(this.invalidations.channel, JSON.stringify({ k, v: entry.version }))] : [])))
    const failed = written.find((w) => w.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  }
}
