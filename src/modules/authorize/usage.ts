// Usage tracking without a write per request: counts are aggregated in memory and flushed in
// batches (every ~10 s and on shutdown) with additive upserts, so many instances can flush safely.
import { sql } from 'kysely'
import type { Db } from '../../db/index.js'

interface TokenUse {
  lastUsedAt: Date
  ips: string[]
}

export class UsageRecorder {
  private uses = new Map<number, TokenUse>()
  private counts = new Map<string, { tokenId: number; day: string; permission: string; namespaceId: number; allowed: number; denied: number }>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(private readonly db: Db, private readonly onError: (err: Error) => void, private readonly intervalMs = 10_000) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs)
    this.timer.unref()
  }

  record(tokenId: number, at: Date, ip: string | undefined, permissions: string[], namespaceId: number, allowed: boolean): void {
    const use = this.uses.get(tokenId)
    if (use) {
      use.lastUsedAt = at
      if (ip && use.ips[0] !== ip) use.ips = [ip, ...use.ips.filter((x) => x !== ip)].slice(0, 5)
    } else {
      this.uses.set(tokenId, { lastUsedAt: at, ips: ip ? [ip] : [] })
    }
    const day = at.toISOString().slice(0, 10)
    for (const permission of permissions) {
      const key = `${tokenId}|${day}|${permission}|${namespaceId}`
      const c = this.counts.get(key)
      if (c) {
        if (allowed) c.allowed++
        else c.denied++
      } else {
        this.counts.set(key, { tokenId, day, permission, namespaceId, allowed: allowed ? 1 : 0, denied: allowed ? 0 : 1 })
      }
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
    const counts = [...this.counts.values()]
    this.uses = new Map()
    this.counts = new Map()
    if (uses.size === 0 && counts.length === 0) return
    for (let i = 0; i < counts.length; i += 1000) {
      const batch = counts.slice(i, i + 1000)
      await this.db
        .insertInto('token_usage_daily')
        .values(batch.map((c) => ({ token_id: c.tokenId, day: c.day, permission: c.permission, namespace_id: c.namespaceId, allowed: c.allowed, denied: c.denied })))
        .onConflict((oc) =>
          oc.columns(['token_id', 'day', 'permission', 'namespace_id']).doUpdateSet({
            allowed: sql`token_usage_daily.allowed + excluded.allowed`,
            denied: sql`token_usage_daily.denied + excluded.denied`,
          }),
        )
        .execute()
    }
    const rows = [...uses.entries()]
    for (let i = 0; i < rows.length; i += 1000) {
      const batch = rows.slice(i, i + 1000)
      // New IPs first, then the ones already stored, without duplicates, at most 5.
      await sql`
        update personal_access_tokens t
           set last_used_at = greatest(t.last_used_at, u.at),
               last_used_ips = (select coalesce(array_agg(ip order by ord), '{}') from (
                 select ip, min(ord) as ord from unnest(u.ips || t.last_used_ips) with ordinality as x(ip, ord) group by ip
                 order by min(ord) limit 5) s)
          from (select * from jsonb_to_recordset(${JSON.stringify(batch.map(([id, u]) => ({ id, at: u.lastUsedAt.toISOString(), ips: u.ips })))}::jsonb)
                as r(id bigint, at timestamptz, ips text[])) u
         where t.id = u.id`.execute(this.db)
    }
  }
}
