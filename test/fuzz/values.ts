// Values for the fuzz harness: JSON with the few number texts JSON.stringify cannot write, and the
// hostile values every field gets its share of. Schema-driven generation is in generate.ts.
import fc from 'fast-check'

/** A JSON text written as is: `1e309`, `99999999999999999999`, `-0`, a deeply nested array. */
export class RawJson {
  constructor(readonly text: string) {}
}

export type Value = null | boolean | number | string | RawJson | Value[] | { [key: string]: Value }

/** An object whose keys may be `__proto__` or `constructor` as plain data (no prototype to set). */
export function dataObject(entries: [string, Value][]): { [key: string]: Value } {
  const o = Object.create(null) as { [key: string]: Value }
  for (const [k, v] of entries) o[k] = v
  return o
}

export function toJsonText(v: Value): string {
  if (v instanceof RawJson) return v.text
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/** As a query string or path segment would carry it (before percent-encoding). */
export function toText(v: Value): string {
  if (v instanceof RawJson) return v.text
  if (typeof v === 'string') return v
  return toJsonText(v)
}

const nested = (depth: number, open: string, close: string) => new RawJson(open.repeat(depth) + '1' + close.repeat(depth))

export const BAD_NUMBER_TEXTS = ['1e309', '-1e309', '99999999999999999999', '-99999999999999999999', '1.5', '-1', '0', '-0', '1e2', '0.1e1', '9007199254740993', '2147483648', '1.0000000000000002']

export const hostileNumber: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(...BAD_NUMBER_TEXTS).map((text) => new RawJson(text)),
  fc.constantFrom(-1, 0, 1.5, 2 ** 31, 2 ** 53, 2 ** 63, Number.MAX_VALUE, Number.MIN_VALUE, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
)

// NUL and lone surrogates are what PostgreSQL refuses; the rest are the usual suspects.
const TEXT_POISON = ['\u0000', '\ud800', '\udfff', '\ud83d', '\ude00']
export const HOSTILE_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfff', 'tail\ud83d', '😀', 'ä', 'ß', '\u202e', '\u200b', '\ufeff', '\n', '\r\n', '\t',
  '../../etc/passwd', '..', '%00', '%', '%ZZ', '%E0%A4%A', "'; drop table users; --", '" or 1=1 --', '<script>alert(1)</script>', '${7*7}',
  '{{7*7}}', '\\', '"', '%s%n', 'NaN', 'null', 'undefined', 'true', '[]', '{}', '__proto__', 'constructor', 'prototype', 'toString',
  '1e309', '-1', '0', '99999999999999999999', '0x10', '2026-13-01', '0000-00-00', '2027-02-30', '0000-01-01', 'yesterday',
  '10.0.0.2\u0000', '999.1.1.1', 'fe80::1%eth0', 'acme/platform/api\u0000', 'acme//api', '/acme', 'ÄCME', 'a/../b',
]

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...TEXT_POISON), fc.string({ maxLength: 8 })).map(([a, b, c]) => a + b + c) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(256, 1001, 10_001, 70_000).map((n) => 'x'.repeat(n)) },
)

/** Anything of the wrong shape: where a string is expected, an object; where an object, an array. */
export const wrongType: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(null, true, false, 0, -1, '', 'text', [], {}, [1, 'a'], [[]], [null], { a: 1 }),
  fc.constantFrom(dataObject([['__proto__', { polluted: true }]]), dataObject([['constructor', { prototype: { polluted: true } }]])),
  fc.constantFrom(nested(50, '[', ']'), nested(1000, '[', ']'), new RawJson(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`)),
  hostileNumber,
)

export const CALENDAR_TRAPS = ['2026-13-01', '0000-00-00', '2027-02-30', '0000-01-01', '2026-02-29', '2026-04-31', '10000-01-01', '9999-12-31', '0001-01-01',
  '2024-02-29', '2026-1-1', '2026-01-01T00:00:00Z', '+275760-09-13', '-000001-01-01', '1970-01-01', 'yesterday', '2026-00-10', '20260101']
export const TIMESTAMP_TRAPS = [...CALENDAR_TRAPS, '2026-01-01T25:00:00Z', '2026-01-01T00:00:00+99:00', '2026-01-01T00:00:00.1234567890Z',
  '0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00', '1e309', '1700000000', '2026-01-01 00:00:00 02:00', '2026-01-01T00:00:00+02:00', '2026-06-01T12:00']
export const IP_VALUES = ['10.0.0.2', '127.0.0.1', '::1', '2001:db8::1', '::ffff:10.0.0.1', '192.168.1.1', 'fe80::1%eth0', '0.0.0.0', '::']
export const IP_TRAPS = ['10.0.0.2\u0000', '999.1.1.1', '10.0.0.0/8', '1.2.3.04', 'localhost', '10.0.0.1|x', '', '1.2.3', '::g', '10.0.0.2 ']
export const CIDR_VALUES = ['10.0.0.0/8', '127.0.0.1/32', '::1/128', '2001:db8::/32', '0.0.0.0/0', '10.1.2.3/8', '192.168.0.0/16']
export const CIDR_TRAPS = ['10.0.0.0/33', '::/129', 'fe80::1%eth0/64', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/', '/8', 'x/8', '10.0.0.0/1e1']
export const PATH_SEGMENT_TRAPS = ['%00', '..%2F..', '..', '%2e%2e', '%ZZ', '%ED%A0%80', '%C3%A4', '1e309', '99999999999999999999', '-1', '0', '1.5',
  'self', 'null', '%20', 'abc', '1;2', '1%3F', '%F0%9F%92%A5', '0x10', '+1', '1e2', '9007199254740993', '%2F']
export const QUERY_TRAPS = ['%00', '%ZZ', '%ED%A0%80', '%E0%A4%A', '1e309', '99999999999999999999', '-1', '', 'Infinity', 'NaN', '0x10', '%20', '%2B']
