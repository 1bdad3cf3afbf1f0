import fc from 'fast-check'
import t from 'tap'
import { utcDate } from '../../src/domain/dates.js'

t.test('utcDate (memoized per day) always agrees with toISOString, whatever order instants come in', async (t) => {
  const instant = fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms))
  const nearMidnight = fc.integer({ min: 0, max: 40_000 }).chain((day) =>
    fc.integer({ min: -2, max: 2 }).map((ms) => new Date(day * 86_400_000 + ms)))
  fc.assert(fc.property(fc.array(fc.oneof(instant, nearMidnight), { minLength: 1, maxLength: 50 }), (dates) =>
    dates.every((d) => utcDate(d) === d.toISOString().slice(0, 10))))
  t.equal(utcDate(new Date('2026-12-01T23:59:59.999Z')), '2026-12-01')
  t.equal(utcDate(new Date('2026-12-02T00:00:00.000Z')), '2026-12-02')
  t.equal(utcDate(new Date('1969-12-31T23:59:59.999Z')), '1969-12-31')
  t.throws(() => utcDate(new Date(Number.NaN)), RangeError)
})
