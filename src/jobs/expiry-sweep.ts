// The expiry sweep: tokens entering their 60-, 30- or 7-day window, or just expired, get the
// matching bookkeeping column set and an audit event (token.expiring / token.expired) in the same
// statement, so the outbox mails them like any other event and a window is never noticed twice,
// however often the sweep runs or wherever it stops.
//
// Only the narrowest window due is noticed: a token created 20 days before its expiry gets the
// 30-day and then the 7-day notice, not a late 60-day one. Tokens that expired more than
// EXPIRED_NOTICE_GRACE_DAYS ago are left alone, so switching the sweep on (or a worker that was
// down for a while) does not mail about long-dead tokens.
//
// Batches walk (expires_at, id) with a keyset cursor over the pat_expiry_sweep index, each batch
// one statement (its own transaction), so memory stays flat and a stop loses nothing.
import { sql } from 'kysely'
import type { Db } from '../db/index.js'
import { addDays, type Clock, utcDate } from '../domain/dates.js'
import { sweepNotices } from './metrics.js'

export const EXPIRED_NOTICE_GRACE_DAYS = 7
export const SWEEP_BATCH = 1000

export type Notice = '60' | '30' | '7' | 'expired'

export interface NoticeResult {
  notices: Record<Notice, number>
  batches: number
  /** Stopped early because the worker is shutting down; the next run continues. */
  aborted: boolean
}

export interface NoticeOptions {
  db: Db
  clock: Clock
  batchSize?: number
  signal?: AbortSignal
}

export async function sendExpiryNotices(opts: NoticeOptions): Promise<NoticeResult> {
  const now = opts.clock()
  const today = utcDate(now)
  const in7 = addDays(today, 7)
  const in30 = addDays(today, 30)
  const in60 = addDays(today, 60)
  const batch = opts.batchSize ?? SWEEP_BATCH
  const result: NoticeResult = { notices: { '60': 0, '30': 0, '7': 0, expired: 0 }, batches: 0, aborted: false }
  let cursor = { expiresAt: addDays(today, -EXPIRED_NOTICE_GRACE_DAYS), id: 0 }

  for (;;) {
    if (opts.signal?.aborted) return { ...result, aborted: true }
    const { rows } = await sql<{ id: number; expires_at: string; notice: Notice }>`
      with due as (
        select id, user_id, name, token_hint, kind, expires_at,
          case when expires_at <= ${today}::date then 'expired'
               when expires_at <= ${in7}::date then '7'
               when expires_at <= ${in30}::date then '30'
               else '60' end as notice
        from personal_access_tokens
        where revoked_at is null
          and (expires_at, id) > (${cursor.expiresAt}::date, ${cursor.id}::bigint)
          and expires_at <= ${in60}::date
          and (
               (expires_at <= ${today}::date and expired_notice_at is null)
            or (expires_at > ${today}::date and expires_at <= ${in7}::date and expiry_notice_7_at is null)
            or (expires_at > ${in7}::date and expires_at <= ${in30}::date and expiry_notice_30_at is null)
            or (expires_at > ${in30}::date and expiry_notice_60_at is null)
          )
        order by expires_at, id
        limit ${batch}
        -- waits for a concurrent revoke/edit of the same token, then re-checks it
        for update
      ),
      marked as (
        update personal_access_tokens p set
          expired_notice_at = case when due.notice = 'expired' then ${now}::timestamptz else p.expired_notice_at end,
          expiry_notice_7_at = case when due.notice = '7' then ${now}::timestamptz else p.expiry_notice_7_at end,
          expiry_notice_30_at = case when due.notice = '30' then ${now}::timestamptz else p.expiry_notice_30_at end,
          expiry_notice_60_at = case when due.notice = '60' then ${now}::timestamptz else p.expiry_notice_60_at end
        from due
        where p.id = due.id
        returning due.*
      ),
      audited as (
        insert into audit_events (occurred_at, actor_type, actor_id, action, target_type, target_id, details)
        select ${now}::timestamptz, 'system', 'expiry_sweep',
          case when notice = 'expired' then 'token.expired' else 'token.expiring' end,
          'personal_access_token', id::text,
          jsonb_build_object('user_id', user_id, 'name', name, 'token_hint', token_hint, 'kind', kind, 'expires_at', expires_at)
            || case when notice = 'expired' then '{}'::jsonb
                    else jsonb_build_object('window', notice::int, 'days_left', expires_at - ${today}::date) end
        from marked
      )
      select id, expires_at, notice from marked
    `.execute(opts.db)
    result.batches++
    for (const row of rows) {
      result.notices[row.notice]++
      sweepNotices.inc({ notice: row.notice })
      if (row.expires_at > cursor.expiresAt || (row.expires_at === cursor.expiresAt && row.id > cursor.id)) {
        cursor = { expiresAt: row.expires_at, id: row.id }
      }
    }
    if (rows.length < batch) return result
  }
}
