// Expiry rules for new, edited, rotated and duplicated tokens.
import { addDays, DAY_MS, isValidDate } from './dates.js'

export interface ExpiryPolicy {
  required: boolean
  maxLifetimeDays: number
}

export type ExpiryCheck = { ok: true; expiresAt: string | null } | { ok: false; code: string; message: string }

/** `requested` undefined means "not given": the fallback (if any) applies before the rules do. */
export function checkExpiry(requested: string | null | undefined, policy: ExpiryPolicy, today: string, fallback?: string | null): ExpiryCheck {
  const value = requested === undefined ? (fallback ?? null) : requested
  if (value === null) {
    return policy.required
      ? { ok: false, code: 'expiry_required', message: `is required (at most ${policy.maxLifetimeDays} days from today)` }
      : { ok: true, expiresAt: null }
  }
  if (!isValidDate(value)) return { ok: false, code: 'invalid_date', message: `"${value}" is not a date (YYYY-MM-DD)` }
  if (value <= today) return { ok: false, code: 'expiry_in_past', message: `must be after today (${today}); a token expires at 00:00 UTC of that date` }
  const latest = addDays(today, policy.maxLifetimeDays)
  if (value > latest) {
    return { ok: false, code: 'expiry_beyond_max_lifetime', message: `must be on or before ${latest} (maximum lifetime ${policy.maxLifetimeDays} days)` }
  }
  return { ok: true, expiresAt: value }
}

/** A rotated or duplicated token keeps the original's lifetime length, capped by policy. */
export function carriedOverExpiry(original: { created_at: Date; expires_at: string | null }, policy: ExpiryPolicy, today: string): string | null {
  if (original.expires_at === null) return policy.required ? addDays(today, policy.maxLifetimeDays) : null
  const createdDay = original.created_at.toISOString().slice(0, 10)
  const lifetime = Math.max(1, Math.round((Date.parse(original.expires_at) - Date.parse(createdDay)) / DAY_MS))
  return addDays(today, Math.min(lifetime, policy.maxLifetimeDays))
}
