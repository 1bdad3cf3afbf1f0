// Every LRU with a TTL in the service is made here, so that none reads the clock the lru-cache way.
// By default (`ttlResolution: 1`) lru-cache keeps the time it last read for 1 ms and arms a timer to
// forget it: under load that is a timer set and fired per millisecond per cache, ~1,000 a second for
// L1 alone, each one an extra wake-up of the event loop. Reading performance.now() on every access
// (`ttlResolution: 0`) costs less and makes TTLs exact: 1-3% less CPU per /authorize decision in the
// realistic mix (bench/README.md, 2026-12-07).
import { LRUCache } from 'lru-cache'

export function ttlLru<K extends {}, V extends {}>(max: number, ttlMs: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ max, ttl: ttlMs, ttlResolution: 0 })
}
