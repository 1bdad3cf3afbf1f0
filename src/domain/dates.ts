// Token expiry is a calendar date (as in GitLab): a token expires at 00:00 UTC of `expires_at`.
import { isCalendarDate } from './calendar.js'

export type Clock = () => Date

export const systemClock: Clock = () => new Date()

export const DAY_MS = 86_400_000
// The last day asked for: every decision needs "today", and toISOString per call shows in profiles.
let memoStart = 0
let memoEnd = -1
let memoDay = ''

/** 'YYYY-MM-DD' of the given instant in UTC. */
export function utcDate(at: Date): string {
  const ms = at.getTime()
  if (ms >= memoStart && ms < memoEnd) return memoDay
  const day = at.toISOString().slice(0, 10) // throws for an invalid date, as before the memo
  memoStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
  memoEnd = memoStart + DAY_MS
  memoDay = day
  return day
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return utcDate(d)
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)
}

/** A real calendar day as 'YYYY-MM-DD' (see calendar.ts); never throws, whatever the text. */
export function isValidDate(value: string): boolean {
  return isCalendarDate(value)
}

export type TokenState = 'active' | 'revoked' | 'expired'

export function tokenState(token: { revoked_at: Date | null; expires_at: string | null }, now: Date): TokenState {
  if (token.revoked_at) return 'revoked'
  if (token.expires_at !== null && token.expires_at <= utcDate(now)) return 'expired'
  return 'active'
}
