// Dates and labels as people read them.
const DAY = 86_400_000

export function formatDate(value: string | null | undefined): string {
  if (!value) return 'Never'
  const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value)
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return 'Never'
  return new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** Whole days from now until a YYYY-MM-DD expiry (the token stops at 00:00 UTC that day). */
export function daysUntil(date: string | null | undefined, now = Date.now()): number | null {
  if (!date) return null
  return Math.ceil((Date.parse(`${date}T00:00:00Z`) - now) / DAY)
}

export function expiryLabel(date: string | null | undefined): string {
  const days = daysUntil(date)
  if (days === null) return 'Never expires'
  if (days <= 0) return `Expired ${formatDate(date)}`
  if (days === 1) return 'Expires tomorrow'
  if (days <= 30) return `Expires in ${days} days`
  return `Expires ${formatDate(date)}`
}

/** Within a week of expiry: the list and the drawer highlight it. */
export const expiresSoon = (date: string | null | undefined) => {
  const days = daysUntil(date)
  return days !== null && days > 0 && days <= 7
}

export function relativeTime(value: string | null | undefined, now = Date.now()): string {
  if (!value) return 'Never used'
  const ms = now - Date.parse(value)
  if (ms < 60_000) return 'Just now'
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`
  if (ms < DAY) return `${Math.floor(ms / 3_600_000)} h ago`
  if (ms < 30 * DAY) return `${Math.floor(ms / DAY)} days ago`
  return formatDate(value)
}

export const ACCESS_LEVELS: Record<number, string> = { 10: 'Guest', 15: 'Planner', 20: 'Reporter', 30: 'Developer', 40: 'Maintainer', 50: 'Owner' }
