// Collects the keys asked for during one turn of the event loop (every request whose bytes arrived
// together) and fetches them in one call after it: a burst of cache misses costs one Redis MGET or
// one PostgreSQL query per turn instead of one each. Keys are fetched once however often asked.
interface Pending<V> {
  promise: Promise<V | undefined>
  resolve: (v: V | undefined) => void
  reject: (err: unknown) => void
}

export class TurnBatcher<K, V> {
  // undefined: wanted (see `want`), nobody waits for it
  private pending = new Map<K, Pending<V> | undefined>()

  /** `fetch` answers a chunk of distinct keys with what it found (missing keys: not found). */
  constructor(private readonly fetch: (keys: K[]) => Promise<Map<K, V>>, private readonly maxKeys = 1000) {}

  /** Everyone asking for the same key in one turn shares one promise (the instance policy: every request). */
  get(key: K): Promise<V | undefined> {
    const known = this.pending.get(key)
    if (known !== undefined) return known.promise
    if (this.pending.size === 0) setImmediate(() => void this.flush())
    let resolve!: (v: V | undefined) => void
    let reject!: (err: unknown) => void
    const promise = new Promise<V | undefined>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.pending.set(key, { promise, resolve, reject })
    return promise
  }

  /** Adds the key to this turn's fetch without waiting for it: its answer reaches only `fetch`'s caller. */
  want(key: K): void {
    if (this.pending.has(key)) return
    if (this.pending.size === 0) setImmediate(() => void this.flush())
    this.pending.set(key, undefined)
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
        for (const key of chunk) batch.get(key)?.reject(err)
        continue
      }
      for (const key of chunk) batch.get(key)?.resolve(found.get(key))
    }
  }
}
