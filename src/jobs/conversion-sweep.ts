// The end of a legacy → fine-grained conversion (POST /personal_access_tokens/:id/convert). A
// converted legacy token keeps working until its conversion_grace_ends_at; the sweep then
//   - CONVERSION_REMINDER_DAYS before that instant, mails a reminder (token.conversion_reminder),
//     once: conversion_reminder_at is set in the same statement as the event is written, as the
//     expiry notices do (a conversion whose grace is shorter than the window is marked reminded at
//     once by the conversion itself: its own mail already names the date);
//   - once the instant has passed, revokes it (revoke_reason converted, revoked_by
//     system:conversion) with a token.revoked event, which the outbox mails like any revocation,
//     and pushes the new state to the hot-path caches.
// Revoked tokens are out of both steps (revoked_at is null), so a legacy token its owner revoked
// early by hand is simply left alone, and whatever happens to the successor (revoked, rotated)
// changes nothing here: the legacy token is never brought back.
//
// Each batch is one statement (its own transaction) over the pat_conversion_grace partial index,
// keyset by (conversion_grace_ends_at, id), so a stop between batches loses nothing.
import { sql } from 'kysely'
import type { CacheKey } from '../cache/policy-cache.js'
import type { Db } from '../db/index.js'
import { CONVERSION_REMINDER_DAYS } from '../domain/conversion.js'
import { type Clock, DAY_MS } from '../domain/dates.js'
import { conversionSweep } from './metrics.js'

const BATCH = 1000

export interface ConversionSweepOptions {
  db: Db
  clock: Clock
  invalidate: (keys: CacheKey[]) => Promise<void>
  batchSize?: number
  signal?: AbortSignal
}

export interface ConversionSweepResult {
  reminders: number
  revoked: number
  aborted: boolean
}

async function sendReminders(opts: ConversionSweepOptions, now: Date, batch: number): Promise<{ count: number; aborted: boolean }> {
  const until = new Date(now.getTime() + CONVERSION_REMINDER_DAYS * DAY_MS)
  let count = 0
  for (;;) {
    if (opts.signal?.aborted) return { count, aborted: true }
    const { rows } = await sql<{ id: number }>`
      with due as (
        select t.id, t.user_id, t.name, t.token_hint, t.kind, t.expires_at, t.conversion_grace_ends_at,
          (select s.id from personal_access_tokens s where s.converted_from_id = t.id) as converted_to
        from personal_access_tokens t
        where t.revoked_at is null and t.conversion_grace_ends_at is not null
          and t.conversion_grace_ends_at > ${now}::timestamptz and t.conversion_grace_ends_at <= ${until}::timestamptz
          and t.conversion_reminder_at is null
          -- an expired token stops working anyway: nothing to remind of
          and (t.expires_at is null or t.expires_at > (${now}::timestamptz at time zone 'UTC')::date)
        order by t.conversion_grace_ends_at, t.id
        limit ${batch}
        -- waits for a concurrent revoke of the same token, then re-checks it
        for update of t
      ),
      marked as (
        update personal_access_tokens p set conversion_reminder_at = ${now}::timestamptz
        from due where p.id = due.id
        returning due.*
      ),
      audited as (
        insert into audit_events (occurred_at, actor_type, actor_id, action, target_type, target_id, details)
        select ${now}::timestamptz, 'system', 'conversion', 'token.conversion_reminder', 'personal_access_token', id::text,
          jsonb_build_object('user_id', user_id, 'name', name, 'token_hint', token_hint, 'kind', kind, 'expires_at', expires_at,
            'conversion_grace_ends_at', conversion_grace_ends_at, 'converted_to', converted_to)
        from marked
      )
      select id from marked
    `.execute(opts.db)
    count += rows.length
    // Marked rows leave the candidates: the next batch starts over without a cursor.
    if (rows.length < batch) return { count, aborted: false }
  }
}

async function revokeEnded(opts: ConversionSweepOptions, now: Date, batch: number): Promise<{ count: number; aborted: boolean }> {
  let count = 0
  for (;;) {
    if (opts.signal?.aborted) return { count, aborted: true }
    const { rows } = await sql<{ id: number; token_digest: Buffer }>`
      with ended as (
        select t.id from personal_access_tokens t
        where t.revoked_at is null and t.conversion_grace_ends_at is not null and t.conversion_grace_ends_at <= ${now}::timestamptz
        order by t.conversion_grace_ends_at, t.id
        limit ${batch}
        for update
      ),
      revoked as (
        update personal_access_tokens p
        set revoked_at = ${now}::timestamptz, revoked_by = 'system:conversion', revoke_reason = 'converted',
            updated_at = now(), version = p.version + 1
        from ended where p.id = ended.id
        returning p.id, p.user_id, p.name, p.token_hint, p.kind, p.expires_at, p.token_digest, p.conversion_grace_ends_at,
          (select s.id from personal_access_tokens s where s.converted_from_id = p.id) as converted_to
      ),
      audited as (
        insert into audit_events (occurred_at, actor_type, actor_id, action, target_type, target_id, details)
        select ${now}::timestamptz, 'system', 'conversion', 'token.revoked', 'personal_access_token', id::text,
          jsonb_build_object('user_id', user_id, 'name', name, 'token_hint', token_hint, 'kind', kind, 'expires_at', expires_at,
            'revoke_reason', 'converted', 'conversion_grace_ends_at', conversion_grace_ends_at, 'converted_to', converted_to)
        from revoked
      )
      select id, token_digest from revoked
    `.execute(opts.db)
    if (rows.length > 0) {
      count += rows.length
      await opts.invalidate(rows.map((r) => ({ kind: 'tok', digest: r.token_digest })))
    }
    if (rows.length < batch) return { count, aborted: false }
  }
}

export async function sweepConversions(opts: ConversionSweepOptions): Promise<ConversionSweepResult> {
  const now = opts.clock()
  const batch = opts.batchSize ?? BATCH
  const reminders = await sendReminders(opts, now, batch)
  conversionSweep.inc({ step: 'reminder' }, reminders.count)
  if (reminders.aborted) return { reminders: reminders.count, revoked: 0, aborted: true }
  const revoked = await revokeEnded(opts, now, batch)
  conversionSweep.inc({ step: 'revoked' }, revoked.count)
  return { reminders: reminders.count, revoked: revoked.count, aborted: revoked.aborted }
}
