// The rules every request value obeys, whatever route it comes to, installed on the validators in
// validation.ts so that no route can forget them and a new route has them from its first line:
//
// - Text: no NUL character and well-formed UTF-16 (no unpaired surrogate) in any string of a body,
//   query string or path. PostgreSQL refuses both in text columns; refused here, they are a 400 that
//   names the field instead of a 500. Lengths are each schema's own maxLength (a test holds every
//   request string of openapi/openapi.json to having one).
// - Dates: `date` is a real calendar day, year 0001-9999; `timestamp` is an ISO 8601 date or
//   date-time in that range (see domain/calendar.ts). `ip` is what node:net's isIP accepts.
import { isIP } from 'node:net'
import { _, type Ajv, type KeywordCxt } from 'ajv'
import { isCalendarDate, isTimestamp } from '../domain/calendar.js'

declare global {
  interface String {
    /** ES2024, in Node 20; the project's TypeScript lib (ES2022) does not declare it yet. */
    isWellFormed(): boolean
  }
}

/** The keyword the validators add to every string schema (never to the schemas themselves). */
export const TEXT_RULE_KEYWORD = 'wellFormedText'
/** Marks the one kind of string left to its route: /authorize resource paths, where odd bytes mean "not found". */
export const ANY_CHARACTERS = 'x-any-characters'

export const TEXT_RULE_MESSAGE = 'must not contain NUL characters or unpaired surrogates'

/** Cheap enough for every string of every /authorize call: two scans, no allocation. */
export function isWellFormedText(value: string): boolean {
  return value.indexOf('\u0000') === -1 && value.isWellFormed()
}

/** What to fix, for each format a request value can fail (the error handler uses these). */
export const FORMAT_MESSAGES: Readonly<Record<string, string>> = {
  date: 'must be a calendar date YYYY-MM-DD (year 0001-9999)',
  timestamp: 'must be an ISO 8601 date (2026-01-31) or date-time (2026-01-31T12:00:00Z; without an offset, UTC; write + as %2B in a query string), year 0001-9999',
  ip: 'must be an IPv4 or IPv6 address',
  email: 'must be an email address',
}

export function addRequestRules(ajv: Ajv): void {
  // Replaces ajv-formats' `date`, which accepts year 0000.
  ajv.addFormat('date', { type: 'string', validate: isCalendarDate })
  ajv.addFormat('timestamp', { type: 'string', validate: isTimestamp })
  ajv.addFormat('ip', { type: 'string', validate: (value: string) => isIP(value) !== 0 })
  ajv.addKeyword({
    keyword: TEXT_RULE_KEYWORD,
    type: 'string',
    schemaType: 'boolean',
    // Generated code, not a `validate` function: Ajv calls those with a context object built per
    // value, an allocation per string on the hot path.
    code(cxt: KeywordCxt) {
      if (cxt.schema !== true) return
      const check = cxt.gen.scopeValue('func', { ref: isWellFormedText })
      cxt.fail(_`!${check}(${cxt.data})`)
    },
    error: { message: TEXT_RULE_MESSAGE },
  })
}

const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples', 'example'])
const clones = new WeakMap<object, unknown>()

function acceptsString(schema: Record<string, unknown>): boolean {
  const { type } = schema
  return type === 'string' || (Array.isArray(type) && type.includes('string'))
}

/**
 * A copy of a request schema with the text rule on every string schema in it, at any depth. A copy:
 * the route's own schema also feeds the OpenAPI document. Strings limited to an enum or a const are
 * safe already; ANY_CHARACTERS opts a string out. The same schema object always gives the same copy,
 * so Ajv's cache (keyed by object) still recognises a schema compiled before.
 */
export function withTextRule<T>(schema: T): T {
  if (schema === null || typeof schema !== 'object') return schema
  const known = clones.get(schema)
  if (known !== undefined) return known as T
  let copy: unknown
  if (Array.isArray(schema)) {
    copy = schema.map((item) => withTextRule(item))
  } else {
    const node: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(schema)) node[key] = DATA_KEYWORDS.has(key) ? value : withTextRule(value)
    if (acceptsString(node) && !('enum' in node) && !('const' in node) && node[ANY_CHARACTERS] !== true) node[TEXT_RULE_KEYWORD] = true
    copy = node
  }
  clones.set(schema, copy)
  return copy as T
}
