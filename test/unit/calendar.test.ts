import fc from 'fast-check'
import t from 'tap'
import { isCalendarDate, parseTimestamp } from '../../src/domain/calendar.js'
import { isValidDate } from '../../src/domain/dates.js'

t.test('a date is a real calendar day, year 0001-9999', async (t) => {
  for (const ok of ['2026-01-31', '2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '2026-12-31']) t.ok(isCalendarDate(ok), ok)
  for (const bad of ['2026-13-01', '0000-00-00', '0000-01-01', '2027-02-30', '2026-02-29', '1900-02-29', '2026-04-31', '2026-00-10', '2026-01-00',
    '10000-01-01', '+002026-01-01', '2026-1-01', '2026-01-01T00:00:00Z', ' 2026-01-01', '2026-01-01\u0000', '２０２６-01-01', '']) {
    t.notOk(isCalendarDate(bad), JSON.stringify(bad))
    t.notOk(isValidDate(bad), `isValidDate ${JSON.stringify(bad)} (and it does not throw)`)
  }
})

t.test('every day of years 0001-9999 is a valid date, and parses to its own midnight UTC', async (t) => {
  const first = new Date(0)
  first.setUTCFullYear(1, 0, 1) // Date.UTC would read year 1 as 1901
  const days = fc.integer({ min: first.getTime() / 86_400_000, max: Date.UTC(9999, 11, 31) / 86_400_000 })
  fc.assert(fc.property(days, (n) => {
    const iso = new Date(n * 86_400_000).toISOString().slice(0, 10)
    return isCalendarDate(iso) && parseTimestamp(iso)?.getTime() === n * 86_400_000
  }), { numRuns: 5000 })
  t.pass()
})

t.test('timestamps: ISO 8601 dates and date-times, calendar-valid, offsets applied, UTC when none', async (t) => {
  const at = (s: string) => parseTimestamp(s)?.toISOString()
  t.equal(at('2026-01-31'), '2026-01-31T00:00:00.000Z')
  t.equal(at('2026-01-31T12:00:00Z'), '2026-01-31T12:00:00.000Z')
  t.equal(at('2026-01-31t12:00z'), '2026-01-31T12:00:00.000Z')
  t.equal(at('2026-01-31 12:00:00'), '2026-01-31T12:00:00.000Z', 'no offset: UTC')
  t.equal(at('2026-01-31T14:30:00+02:00'), '2026-01-31T12:30:00.000Z')
  t.equal(at('2026-01-31T00:00:00.123456789-01:00'), '2026-01-31T01:00:00.123Z')
  t.equal(at('0001-01-01T00:00:00Z'), '0001-01-01T00:00:00.000Z', 'years below 100 are not read as 19xx')
  t.equal(at('0050-06-15'), '0050-06-15T00:00:00.000Z')
  for (const bad of ['yesterday', '2026-13-01', '0000-00-00', '2027-02-30', '2026-01-31T24:00:00Z', '2026-01-31T12:60Z', '2026-01-31T12:00:60Z',
    '2026-01-31T12:00+24:00', '2026-01-31T12:00 02:00', '2026-01-31T12', '+275760-09-13T00:00:00Z', '-000001-01-01', '1e309', '1700000000', '2026-01-31T12:00:00Z\u0000', '']) {
    t.equal(parseTimestamp(bad), undefined, JSON.stringify(bad))
  }
})
