// Usage tracking without a write per request: counts are aggregated in memory and flushed in
// batches (every ~10 s and on shutdown) with additive upserts, so many instances can flush safely.
//
// One row must never cost everyone's usage: last_used_at feeds auto-revocation of unused tokens, so
// a lost flush can revoke tokens in active use. IPs are checked before they are recorded; a batch
// PostgreSQL refuses for its data is split until the refused rows are found, and only they are
// dropped; rows that could not be written because PostgreSQL was unavailable wait for the next flush.
import { isIP } from 'node:net'
import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { writeIsolating } from '../../db/write-isolating.js'
import { utcDate } from '../../domain/dates.js'

/** One permission's use on one namespace, on the token's day. */
interface Count {
  permission: string
  allowed: number
  denied: number
  /** The count of another permission on the same namespace (a namespace's counts are a short chain). */
  next: Count | undefined
}

/**
 * Counts by namespace id, each namespace's permissions chained. Everything here lives until the
 * flush (~10 s) and is promoted out of the young generation: one map per token and one object per
 * (permission, namespace) asked, where a map per (token, permission) and its growing backing store
 * made the usage counts the largest share of what the hot path promoted (bench/README.md, issue 17).
 */
type Counts = Map<number, Count>

/** One token's use since the last flush, on one UTC day. */
interface TokenUse {
  /**
   * ms since the epoch, not the request's Date: a Date kept here until the token's next use lived
   * just long enough to be promoted out of the young generation, filling the old one (bench/README.md).
   */
  lastUsedAt: number
  ips: string[]
  day: string
  counts: Counts
}

interface LastUsedRow {
  id: number
  at: number
  ips: string[]
}

interface CountRow {
  tokenId: number
  day: string
  permission: string
  namespaceId: number
  allowed: number
  denied: number
}

/** The count of `permission` on the namespace, added when it is the first such use. */
function countOf(counts: Counts, namespaceId: number, permission: string): Count {
  const first = counts.get(namespaceId)
  for (let c = first; c !== undefined; c = c.next) if (c.permission === permission) return c
  const added: Count = { permission, allowed: 0, denied: 0, next: first }
  counts.set(namespaceId, added)
  return added
}

// Checked only when the address is not already the latest one (a repeated caller costs a compare).
function noteIp(use: TokenUse, ip: string): void {
  if (use.ips[0] !== ip && isIP(ip) !== 0) use.ips = [ip, ...use.ips.filter((x) => x !== ip)].slice(0, 5)
}

/** Rows kept for the next flush while PostgreSQL is unavailable, at most this many of each kind. */
const MAX_CARRIED_ROWS = 200_000
const BATCH = 1000

// `record` runs on every decision, so it builds no strings: permission names come from the
// catalog (the same string objects each time) and namespace ids are numbers.
export class UsageRecorder {
  private uses = new Map<number, TokenUse>()
  /** Counts of a token's previous day, set aside when its first use of a new day arrives; and counts a failed flush carries over. */
  private finished: CountRow[] = []
  /** last_used updates a flush could not write because PostgreSQL was unavailable. */
  private carriedLastUsed: LastUsedRow[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly db: Db,
    private readonly onError: (err: Error) => void,
    private readonly intervalMs = 10_000,
    /** A row PostgreSQL refused (logged; the rest of its batch is written). */
    private readonly onDroppedRow: (row: object, err: Error) => void = () => {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs)
    this.timer.unref()
  }

  /** Counts one use. */
  record(tokenId: number, at: Date, ip: string | undefined, permissions: readonly { name: string }[], namespaceId: number, allowed: boolean): void {
    const day = utcDate(at)
    const atMs = at.getTime()
    let use = this.uses.get(tokenId)
    if (!use) {
      this.uses.set(tokenId, (use = { lastUsedAt: atMs, ips: ip && isIP(ip) !== 0 ? [ip] : [], day, counts: new Map() }))
    } else {
      use.lastUsedAt = atMs
      if (ip) noteIp(use, ip)
      if (use.day !== day) {
        this.finished.push(...countRows(tokenId, use))
        use.day = day
        use.counts = new Map()
      }
    }
    for (const { name } of permissions) {
      const c = countOf(use.counts, namespaceId, name)
      if (allowed) c.allowed++
      else c.denied++
    }
  }

  /** Writes what has been gathered; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write()).catch((err: Error) => this.onError(err))
    return this.flushing
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.flush()
  }

  private async write(): Promise<void> {
    const uses = this.uses
    const current = [...uses].flatMap(([tokenId, use]) => countRows(tokenId, use))
    // The interval's rows are one per key already (a token has one day here); only rows carried
    // over (a previous day, a failed flush) can repeat one.
    // In key order, as every instance writes them: two instances flushing the same tokens in their
    // own orders (first use) took the same rows' locks in opposite orders and deadlocked, and
    // PostgreSQL held both for deadlock_timeout (1 s) before failing one (bench/README.md).
    const counts = (this.finished.length === 0 ? current : mergeRows([...this.finished, ...current])).sort(byCountKey)
    const lastUsed = mergeLastUsed([...this.carriedLastUsed, ...[...uses].map(([id, u]) => ({ id, at: u.lastUsedAt, ips: u.ips }))]).sort((a, b) => a.id - b.id)
    this.uses = new Map()
    this.finished = []
    this.carriedLastUsed = []
    if (lastUsed.length === 0 && counts.length === 0) return
    const dropped = (row: object, err: Error) => this.onDroppedRow(row, err)
    const countsLeft = await writeIsolating(counts, BATCH, (batch) => this.writeCounts(batch), dropped)
    const lastUsedLeft = await writeIsolating(lastUsed, BATCH, (batch) => this.writeLastUsed(batch), dropped)
    if (countsLeft.rows.length + lastUsedLeft.rows.length === 0) return
    // PostgreSQL did not answer: keep what was not written for the next flush (bounded), and say so.
    this.finished.push(...countsLeft.rows.slice(-MAX_CARRIED_ROWS))
    this.carriedLastUsed = lastUsedLeft.rows.slice(-MAX_CARRIED_ROWS)
    throw countsLeft.error ?? lastUsedLeft.error
  }

  private async writeCounts(batch: CountRow[]): Promise<void> {
    // One JSON parameter, as writeLastUsed: under a mix of distinct questions nearly every decision
    // is a row of its own, and a VALUES list of 6 parameters per row cost the hot path's process
    // ~4 µs per decision in Kysely's query building and pg's parameter encoding (bench/README.md).
    // Each row an array, not an object: a third of the text, which lives (and is promoted) while
    // the flush waits for PostgreSQL.
    const rows = JSON.stringify(batch.map((r) => [r.tokenId, r.day, r.permission, r.namespaceId, r.allowed, r.denied]))
    await sql`
      insert into token_usage_daily as d (token_id, day, permission, namespace_id, allowed, denied)
      select (r->>0)::bigint, (r->>1)::date, r->>2, (r->>3)::bigint, (r->>4)::bigint, (r->>5)::bigint
        from jsonb_array_elements(${rows}::jsonb) with ordinality as e(r, n) order by e.n -- the batch's key order (see write)
      on conflict (token_id, day, permission, namespace_id)
      do update set allowed = d.allowed + excluded.allowed, denied = d.denied + excluded.denied`.execute(this.db)
  }

  private async writeLastUsed(batch: LastUsedRow[]): Promise<void> {
    // New IPs first, then the ones already stored, without duplicates, at most 5. Rows are locked in
    // the plan's order, the same for every instance's batch (the function's row estimate is fixed):
    // the batch's id order when it drives the join, the table's when the table does (see write).
    await sql`
      update personal_access_tokens t
         set last_used_at = greatest(t.last_used_at, u.at),
             last_used_ips = (select coalesce(array_agg(ip order by ord), '{}') from (
               select ip, min(ord) as ord from unnest(u.ips || t.last_used_ips) with ordinality as x(ip, ord) group by ip
               order by min(ord) limit 5) s)
        from (select * from jsonb_to_recordset(${JSON.stringify(batch.map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), ips: r.ips })))}::jsonb)
              as r(id bigint, at timestamptz, ips text[])) u
       where t.id = u.id`.execute(this.db)
  }
}

/** One update per token: the latest use, and the newest IPs first. */
function mergeLastUsed(rows: LastUsedRow[]): LastUsedRow[] {
  const byId = new Map<number, LastUsedRow>()
  for (const r of rows) {
    const seen = byId.get(r.id)
    if (!seen) byId.set(r.id, r)
    else {
      const [newer, older] = r.at >= seen.at ? [r, seen] : [seen, r]
      byId.set(r.id, { id: r.id, at: newer.at, ips: [...new Set([...newer.ips, ...older.ips])].slice(0, 5) })
    }
  }
  return [...byId.values()]
}

/** The order of token_usage_daily's key: the same in every instance, so concurrent flushes lock rows in one order. */
function byCountKey(a: CountRow, b: CountRow): number {
  return a.tokenId - b.tokenId || compare(a.day, b.day) || compare(a.permission, b.permission) || a.namespaceId - b.namespaceId
}
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function countRows(tokenId: number, use: TokenUse): CountRow[] {
  const rows: CountRow[] = []
  for (const [namespaceId, first] of use.counts) {
    for (let c: Count | undefined = first; c !== undefined; c = c.next) rows.push({ tokenId, day: use.day, permission: c.permission, namespaceId, allowed: c.allowed, denied: c.denied })
  }
  return rows
}

/** One row per key: an upsert batch may not touch the same row twice (a clock set back can repeat a day). */
function mergeRows(rows: CountRow[]): CountRow[] {
  const byKey = new Map<string, CountRow>()
  for (const r of rows) {
    const key = `${r.tokenId}|${r.day}|${r.permission}|${r.namespaceId}`
    const seen = byKey.get(key)
    if (seen) {
      seen.allowed += r.allowed
      seen.denied += r.denied
    } else {
      byKey.set(key, { ...r })
    }
  }
  return [...byKey.values()]
}
