// Legacy → fine-grained conversion timing, shared by the conversion itself and the sweep.
import { DAY_MS } from './dates.js'

/** How long before a converted legacy token's grace ends its owner is reminded. */
export const CONVERSION_REMINDER_DAYS = 3

/** Whether a grace this long needs a reminder at all; a shorter one is covered by the conversion mail, which names the date. */
export const reminderDue = (graceMs: number): boolean => graceMs > CONVERSION_REMINDER_DAYS * DAY_MS

/** When a conversion made at `now` with `graceDays` of grace ends. */
export const graceEnd = (now: Date, graceDays: number): Date => new Date(now.getTime() + graceDays * DAY_MS)
