// Collects the keys asked for during one turn of the event loop (every request whose bytes arrived
// together) and fetches them in one call after it: a burst of cache misses costs one Redis MGET or
// one PostgreSQL query per turn instead of one each. Keys are fetched once however often asked.
export class TurnBatcher<K, V> {
  private pending = new Map<K, { resolve: (v: V | undefined) => void; reject: (err: unknown) => void }[]>()

  /** `fetch` answers a chunk of distinct keys with what it found (missing keys: not found). */
  constructor(private readonly fetch: (keys: K[]) => Promise<Map<K, V>>, private readonly maxKeys = 1000) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(() => void this.flush())
      let waiters = this.pending.get(key)
      if (!waiters) this.pending.set(key, (waiters = []))
      waiters.push({ resolve, reject })
    })
  }

  private async flush(): Promise<void> {
    const batch = this.pending
    this.pending = new Map()
    const keys = [...batch.keys()]
    for (let i = 0; i < keys.length; i += this.maxKeys) {
      const chunk = keys.slice(i, i + this.maxKeys)
      let found: Map<K, V>
      try {
        found = await this.fetch(chunk)
      } catch (err) {
        for (const key of chunk) for (const w of batch.get(key)!) w.reject(err)
        continue
      }
      for (const key of chunk) for (const w of batch.get(key)!) w.resolve(found.get(key))
    }
  }
}
