// A cluster client closed while a periodic slot refresh is in flight must not keep its process
// alive. ioredis 5 arms the next periodic refresh from the failed refresh's callback, after the
// close: a timer that re-arms itself every slotsRefreshInterval, forever. The cluster fault test
// file hung on it now and then until tap's 3-minute timeout. ClusterClient (redis-client.ts)
// stops that timer; a plain Cluster is checked too, to show this test meets the case it is about.
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import t from 'tap'
import { bullConnection, ClusterClient, createRedis, duplicateRedis } from '../../../src/cache/redis-client.js'
import { startRedisCluster } from '../../helpers/redis-cluster.js'

interface Internals {
  isRefreshing: boolean
  slotsTimer: NodeJS.Timeout | null
}
const internals = (c: Cluster) => c as unknown as Internals

/** Connected, then closed while a periodic refresh (every 20 ms here) is in flight; the timer left armed, if any. */
async function closeDuringRefresh(client: Cluster, close: (c: Cluster) => unknown): Promise<{ inFlight: boolean; armed: boolean }> {
  client.on('error', () => undefined)
  await client.get('some-key')
  const until = Date.now() + 5000
  while (!internals(client).isRefreshing && Date.now() < until) await new Promise((r) => setImmediate(r))
  const inFlight = internals(client).isRefreshing
  await Promise.resolve(close(client)).catch(() => undefined)
  await sleep(150) // the refresh in flight has failed and its callbacks have run
  const timer = internals(client).slotsTimer
  if (timer) clearTimeout(timer) // the control case: do not let it hold this process
  // undefined (ioredis renamed the field) counts as armed: this test then fails instead of passing blind.
  return { inFlight, armed: timer !== null }
}

t.test('a cluster client closed during a slot refresh arms no timer', async (t) => {
  const cluster = await startRedisCluster(t)
  const seeds = cluster.ports.map((port) => ({ host: '127.0.0.1', port }))
  const closes: [string, (c: Cluster) => unknown][] = [['disconnect()', (c) => c.disconnect()], ['quit()', (c) => c.quit()]]
  for (const [name, close] of closes) {
    for (let i = 0; i < 5; i++) {
      const r = await closeDuringRefresh(new ClusterClient(seeds, { slotsRefreshInterval: 20 }), close)
      t.same(r, { inFlight: true, armed: false }, `${name} during a refresh (#${i + 1}): no timer armed afterwards`)
    }
  }
  const seed = new ClusterClient(seeds, { slotsRefreshInterval: 20, lazyConnect: true })
  const copy = seed.duplicate()
  t.type(copy, ClusterClient, "a duplicate (BullMQ's blocking connections) is one too")
  t.same(await closeDuringRefresh(copy, (c) => c.disconnect()), { inFlight: true, armed: false }, 'a duplicate closed during a refresh: no timer armed')

  const control = await closeDuringRefresh(new Cluster(seeds, { slotsRefreshInterval: 20 }), (c) => c.disconnect())
  t.same(control, { inFlight: true, armed: true }, "a plain ioredis Cluster still arms it (when this fails, ioredis has fixed it and ClusterClient's workaround can go)")
})

t.test('every cluster client the service makes is a ClusterClient', async (t) => {
  const redis = { kind: 'cluster' as const, nodes: [{ host: '127.0.0.1', port: 1 }], username: '', password: '', tls: false }
  const main = createRedis({ redis }, { lazyConnect: true })
  t.type(main, ClusterClient, 'createRedis')
  const sub = duplicateRedis(main, { enableOfflineQueue: true })
  t.type(sub, ClusterClient, 'duplicateRedis (the invalidation subscriber)')
  const bull = bullConnection({ redis })
  t.type(bull, ClusterClient, 'bullConnection (BullMQ duplicates it for its blocking connections)')
  for (const c of [main, sub, bull] as Cluster[]) c.disconnect()
})
