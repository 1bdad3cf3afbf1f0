// The invalidation channel that does not depend on Redis: PostgreSQL LISTEN/NOTIFY.
//
// Every change a decision depends on bumps its row's version, and a trigger (migration 0006) sends
// `NOTIFY fgpat_invalidate, '<cache key>|<version>,…'` in the same transaction. PostgreSQL delivers
// a notification to every listener if and only if its transaction commits, so while this
// connection is up, no committed change goes unheard. Whether it is up is proven by a heartbeat:
// PostgreSQL sends a connection its pending notifications before the ReadyForQuery that ends a
// query, so once `select 1` sent at time T is answered, every change committed before T has been
// heard. `onVerified(T)` reports that; the cache trusts its in-process tier only for a short while
// after the last T (see Invalidations).
//
// A transaction that changed 100,000 rows (a bulk directory load) delivers as many notifications at
// once: they are applied a slice of time at a time (yielding to the event loop between slices), and
// a heartbeat counts only once every notification that arrived before its answer has been applied.
//
// A heartbeat that does not come back in time (PostgreSQL stalled, a network partition) ends the
// connection, and a new one is opened until PostgreSQL answers again. Notifications sent while no
// connection listened are lost: the cache starts its in-process tier afresh when trust returns.
//
// LISTEN belongs to a server session. Through a transaction-mode pooler (PgBouncer's
// pool_mode = transaction) the LISTEN runs on one server connection and the heartbeats on whichever
// is free: they would be answered while the notifications go to a connection nobody reads. So
// each heartbeat asks for its backend's pid, and a pid other than the LISTEN's proves the session
// is not held: this listener then never reports a heartbeat again (the in-process tier stays
// bypassed, answers stay correct) and says once to set DATABASE_DIRECT_URL.
import pg from 'pg'
import { LoopBudget } from '../http/yield.js'

export const INVALIDATION_CHANNEL = 'fgpat_invalidate'

export interface PgListenerOptions {
  connectionString: string
  onMessage: (key: string, version: number) => void
  /** A heartbeat sent at `sentAt` (ms since the epoch) was answered. */
  onVerified: (sentAt: number) => void
  log: { warn: (obj: object, msg: string) => void }
  heartbeatMs: number
  /** A heartbeat or a connection attempt not answered within this is a dead connection. */
  timeoutMs: number
}

export class PgInvalidationListener {
  /** The connection being opened or in use; events of any other (older) one are ignored. */
  private current: pg.Client | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private failures = 0
  /** Set once a heartbeat reached another backend than its LISTEN: the URL is a transaction-mode pooler. */
  private pooled = false
  /** The backend pid of `current`'s LISTEN. */
  private listenPid = 0
  /** Payloads received and not yet applied, oldest first. */
  private pending: string[] = []
  /** Settles when `pending` has been applied; undefined while it is empty. */
  private draining: Promise<void> | undefined

  constructor(private readonly opts: PgListenerOptions) {}

  start(): void {
    void this.connect()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    const client = this.current
    this.current = undefined
    if (client) this.destroy(client)
  }

  private later(fn: () => void, ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(fn, ms)
    this.timer.unref()
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const client = new pg.Client({ connectionString: this.opts.connectionString, connectionTimeoutMillis: this.opts.timeoutMs })
    this.current = client
    client.on('error', (err: Error) => this.lost(client, err.message))
    client.on('end', () => this.lost(client, 'connection ended'))
    client.on('notification', (n) => this.message(n.payload))
    try {
      await client.connect()
      // One simple-protocol message: the pid is the LISTEN's backend, even through a pooler.
      const results = await this.answered(client, client.query(`listen ${INVALIDATION_CHANNEL}; select pg_backend_pid() as pid`)) as unknown as pg.QueryResult<{ pid: number }>[]
      this.listenPid = results[1]?.rows[0]?.pid ?? 0
    } catch (err) {
      this.lost(client, (err as Error).message)
      return
    }
    void this.beat(client)
  }

  private async beat(client: pg.Client): Promise<void> {
    if (this.current !== client) return
    const sentAt = Date.now()
    let pid: number | undefined
    try {
      pid = (await this.answered(client, client.query<{ pid: number }>('select pg_backend_pid() as pid'))).rows[0]?.pid
    } catch (err) {
      this.lost(client, (err as Error).message)
      return
    }
    if (pid !== this.listenPid || this.pooled) {
      if (!this.pooled) {
        this.pooled = true
        this.opts.log.warn(
          { listenPid: this.listenPid, heartbeatPid: pid },
          'invalidation listener: the LISTEN session is not kept (DATABASE_URL is a transaction-mode pooler such as PgBouncer?); ' +
            'the in-process cache stays off until DATABASE_DIRECT_URL points at PostgreSQL directly',
        )
      }
      this.later(() => void this.beat(client), this.opts.heartbeatMs)
      return
    }
    await this.draining // what arrived before the answer is applied before the answer counts
    if (this.current !== client) return
    if (this.failures > 0) this.opts.log.warn({}, 'invalidation listener back on PostgreSQL')
    this.failures = 0
    this.opts.onVerified(sentAt)
    this.later(() => void this.beat(client), this.opts.heartbeatMs)
  }

  /** `query`'s answer, or an error once `timeoutMs` passed without one. */
  private answered<T>(client: pg.Client, query: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs)
      query.then(resolve, reject).finally(() => clearTimeout(timer))
    })
  }

  /**
   * Only queued here. One socket read can hold dozens of notifications of up to 8 KB, and pg hands
   * them over one after another in a single task: splitting them into entries here (thousands in a
   * bulk load's burst) held the event loop for 10–20 ms of CPU at a time. drain() does it a slice
   * at a time.
   */
  private message(payload: string | undefined): void {
    if (payload === undefined) return
    this.pending.push(payload)
    this.draining ??= this.drain()
  }

  /** A payload is "<key>|<version>" entries separated by commas (keys hold neither). */
  private async drain(): Promise<void> {
    await null // from the next microtask: a burst's notifications gather first
    const budget = new LoopBudget()
    let applied = 0
    // What arrives while this pauses is taken by the next round, after everything before it.
    while (this.pending.length > 0) {
      const payloads = this.pending
      this.pending = []
      for (const payload of payloads) {
        for (const entry of payload.split(',')) {
          const sep = entry.lastIndexOf('|')
          const version = Number(entry.slice(sep + 1))
          if (sep > 0 && Number.isSafeInteger(version)) this.opts.onMessage(entry.slice(0, sep), version)
          if ((++applied & 15) === 0 && budget.overdue) await budget.pause()
        }
      }
    }
    this.draining = undefined
  }

  /** Ends a connection at once, whatever state the server is in (end() alone waits for a stalled one). */
  private destroy(client: pg.Client): void {
    const stream = (client as unknown as { connection?: { stream?: { destroy: () => void } } }).connection?.stream
    stream?.destroy()
    client.end().catch(() => undefined)
  }

  /** The connection is gone or useless: drop it and open another, a little later each time (at most 1 s). */
  private lost(client: pg.Client, why: string): void {
    if (this.current !== client) return
    this.current = undefined
    this.destroy(client)
    if (this.stopped) return
    if (this.failures++ === 0) this.opts.log.warn({ err: why }, 'invalidation listener lost PostgreSQL; the in-process cache is bypassed until it is back')
    this.later(() => void this.connect(), Math.min(100 * this.failures, 1000))
  }
}
