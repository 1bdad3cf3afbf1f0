// Calendar-valid dates and timestamps, checked field by field rather than through `new Date(text)`:
// V8's parser rolls "2026-02-30" over to March, accepts "0000-01-01" (PostgreSQL has no year 0) and
// reads a date-time without an offset as local time. Every date the API accepts passes through here
// (as the Ajv formats `date` and `timestamp`), so nothing PostgreSQL would reject gets that far.

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
// Seconds, fraction and offset optional; `T`, `t` or a space between date and time (RFC 3339 §5.6).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:\d{2})?)?$/

/** Years the API accepts: four digits, no year 0 (PostgreSQL's calendar has none; 1 BC follows 1 AD). */
export const MIN_YEAR = 1
export const MAX_YEAR = 9999

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isCalendarDay(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return false
  return day <= (month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1])
}

/** 'YYYY-MM-DD' naming a real day: month 01-12, the month's days (29 February in leap years only), year 0001-9999. */
export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value)
  return m !== null && isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]))
}

/**
 * An ISO 8601 date ('2026-01-31', midnight UTC) or date-time ('2026-01-31T12:00:00Z',
 * '2026-01-31T14:00+02:00'; without an offset, UTC) as an instant, or undefined when it is not one.
 * Years 0001-9999, so every instant is far inside PostgreSQL's timestamptz range.
 */
export function parseTimestamp(value: string): Date | undefined {
  const m = TIMESTAMP.exec(value)
  if (m === null) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)]
  if (!isCalendarDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  const offset = m[8]
  if (offset !== undefined && offset !== 'Z' && offset !== 'z') {
    const hours = Number(offset.slice(1, 3))
    const minutes = Number(offset.slice(4, 6))
    if (hours > 23 || minutes > 59) return undefined
    offsetMinutes = (offset[0] === '-' ? -1 : 1) * (hours * 60 + minutes)
  }
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000)
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const at = new Date(0)
  at.setUTCFullYear(year, month - 1, day)
  at.setUTCHours(hour, minute, second, ms)
  return new Date(at.getTime() - offsetMinutes * 60_000)
}

export const isTimestamp = (value: string): boolean => parseTimestamp(value) !== undefined
