// Every ioredis client the service makes comes from here, so one node (REDIS_URL), a Redis Cluster
// (REDIS_CLUSTER_NODES) and a Sentinel-managed primary (REDIS_SENTINELS) are all handled in one
// place. Callers say what they need of a connection (`ClientOptions`: timeouts, offline queue,
// auto-pipelining); how to reach Redis comes from the configuration.
//
// On a cluster the code that talks to Redis differs in two places only, both written for it:
// - reads of many keys: MGET cannot span hash slots (CROSSSLOT), so the policy cache sends one GET
//   per key and auto-pipelining gathers them into one pipeline per master (policy-cache.ts);
// - pipelines: ioredis refuses a pipeline whose keys live on different masters, so the cache's
//   write-through and repair send their commands one by one, auto-pipelined per master.
// Invalidations use plain PUBLISH/SUBSCRIBE, which a cluster forwards to every node (invalidations.ts).
import type { ConnectionOptions } from 'bullmq'
import { type Callback, Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import type { Config, RedisTarget } from '../config.js'

export type RedisClient = Redis | Cluster

/**
 * ioredis 5's Cluster, made to let its process exit once closed. A periodic slot refresh
 * (slotsRefreshInterval) still in flight when disconnect() or quit() is called fails ("Cluster is
 * disconnecting"), and its callback arms the next periodic refresh anyway: a timer that keeps the
 * process alive, fails and arms itself again, forever. A test file hung on it now and then, until
 * tap's timeout (test/integration/faults/redis-cluster-close.test.ts closes during a refresh).
 * After a close, a callback is queued behind that one, and stops the timer it armed.
 * Every cluster client is one of these, and so are its duplicates (BullMQ's included).
 */
export class ClusterClient extends Cluster {
  constructor(private readonly seedNodes: ClusterNode[], options: ClusterOptions = {}) {
    super(seedNodes, options)
  }

  override disconnect(reconnect = false): void {
    super.disconnect(reconnect)
    if (!reconnect) this.stopRefreshingAfterClose()
  }

  override quit(callback?: Callback<'OK'>): Promise<'OK'> {
    const quitting = super.quit(callback)
    this.stopRefreshingAfterClose()
    return quitting
  }

  override duplicate(overrideStartupNodes: ClusterNode[] = [], overrideOptions: ClusterOptions = {}): ClusterClient {
    // As Cluster.duplicate, which would make a plain Cluster.
    return new ClusterClient(overrideStartupNodes.length > 0 ? overrideStartupNodes : this.seedNodes.slice(), { ...this.options, ...overrideOptions })
  }

  private stopRefreshingAfterClose(): void {
    // Private in ioredis' types; redis-cluster-close.test.ts fails if ioredis renames them.
    const internals = this as unknown as { isRefreshing: boolean; clearNodesRefreshInterval: () => void }
    // Not a new refresh (that would open a connection to ask for slots): only one in flight. Should
    // ioredis drop the method, nothing is called that would throw inside its callback loop.
    if (internals.isRefreshing && typeof internals.clearNodesRefreshInterval === 'function') {
      this.refreshSlotsCache(() => internals.clearNodesRefreshInterval())
    }
  }
}

/** What a caller needs of its connection; the same meaning for every kind of target. */
export type ClientOptions = Pick<
  RedisOptions,
  'maxRetriesPerRequest' | 'commandTimeout' | 'enableOfflineQueue' | 'lazyConnect' | 'enableAutoPipelining' | 'autoPipeliningIgnoredCommands' | 'retryStrategy' | 'connectionName'
>

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster
}

/** Credentials and TLS of the data nodes of a cluster or a Sentinel-managed primary. */
function nodeAuth(target: Exclude<RedisTarget, { kind: 'single' }>): Partial<RedisOptions> {
  return {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  }
}

function clusterOptions(target: Extract<RedisTarget, { kind: 'cluster' }>, options: ClientOptions): ClusterOptions {
  const { enableOfflineQueue, lazyConnect, enableAutoPipelining, autoPipeliningIgnoredCommands, retryStrategy, ...perNode } = options
  return {
    // Per node: the command timeout and retries bound every command as on one node.
    redisOptions: { ...perNode, ...nodeAuth(target) },
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(autoPipeliningIgnoredCommands === undefined ? {} : { autoPipeliningIgnoredCommands }),
    // Reads go to masters only: a replica may lag behind a write-through or a tombstone.
    scaleReads: 'master',
    // A master gone: the slot map is asked again soon, and the cluster keeps reconnecting (never
    // gives up: the service recovers when the master or its replica is back, without a restart).
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1000,
    slotsRefreshInterval: 5000,
    clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
  }
}

function sentinelOptions(target: Extract<RedisTarget, { kind: 'sentinel' }>): RedisOptions {
  return {
    sentinels: target.sentinels,
    name: target.name,
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    ...nodeAuth(target),
    // A failover closes the connection to the old primary: ask the Sentinels again at once.
    sentinelRetryStrategy: (times: number) => Math.min(100 * times, 2000),
  }
}

/** A client of the configured Redis. */
export function createRedis(config: Pick<Readonly<Config>, 'redis'>, options: ClientOptions = {}): RedisClient {
  const target = config.redis
  if (target.kind === 'cluster') return new ClusterClient(target.nodes, clusterOptions(target, options))
  if (target.kind === 'sentinel') return new Redis({ ...sentinelOptions(target), ...options })
  return new Redis(target.url, options)
}

/**
 * Another connection to the same Redis as `redis`, with some options changed (a subscriber must
 * queue while reconnecting and wait without a timeout).
 */
export function duplicateRedis(redis: RedisClient, options: ClientOptions): RedisClient {
  if (!isCluster(redis)) return redis.duplicate(options)
  const { enableOfflineQueue, lazyConnect, ...perNode } = options
  return redis.duplicate(undefined, {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    redisOptions: { ...redis.options.redisOptions, ...perNode },
  })
}

/**
 * BullMQ's connection. One node or Sentinel: options (BullMQ makes its own clients from them). A
 * cluster: a Cluster client, which BullMQ duplicates for its blocking connections; the caller
 * closes it (`ownedConnection`). BullMQ needs `maxRetriesPerRequest: null` on its workers' clients.
 */
export function bullConnection(config: Pick<Readonly<Config>, 'redis'>): ConnectionOptions {
  const target = config.redis
  if (target.kind === 'cluster') return new ClusterClient(target.nodes, { ...clusterOptions(target, { maxRetriesPerRequest: null }) })
  if (target.kind === 'sentinel') return { ...sentinelOptions(target), maxRetriesPerRequest: null } as ConnectionOptions
  return { url: target.url }
}
