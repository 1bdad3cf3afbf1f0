// Parameters written the way GitLab's clients and GitLab's docs write them, in a query string or an
// application/x-www-form-urlencoded body: `scopes[]=api&scopes[]=read_api`, `template_targets[group_ids][]=100`,
// and arrays of objects either indexed (`granular_scopes[0][access]=user`) or as Rack (GitLab's
// parser) groups them (`granular_scopes[][access]=user&granular_scopes[][permissions][]=read_user`).
// Values stay text: the route's schema converts them (validation.ts, coerceTextParams).
import qs from 'qs'
import { AppError } from './errors.js'

const LIMITS = {
  // Our deepest parameter is granular_scopes[0][group_ids][]: depth 3. Deeper keys are refused, not
  // kept as odd literal names (qs's default).
  depth: 5,
  strictDepth: true,
  // Above every maxItems of a request array (500 group ids), so the schema names the field when a
  // list is too long; an index past this would otherwise turn the array into an object.
  arrayLimit: 1000,
  // A 256 KiB body holds at most ~64,000 pairs; past this many the request is refused, not truncated.
  parameterLimit: 20_000,
  throwOnLimitExceeded: true,
} as const

/**
 * Text → { name: value | value[] | {…} }. Objects have no prototype: `__proto__` is dropped, and a
 * key such as `constructor` or `toString` is an own field that the schema refuses as unknown. A
 * repeated plain key (`name=a&name=b`) becomes a list, which a single-valued field refuses: nothing
 * is silently dropped.
 */
export function parseParams(text: string): Record<string, unknown> {
  try {
    const group = rackGrouping()
    return qs.parse(text, {
      ...LIMITS,
      plainObjects: true,
      allowPrototypes: false,
      decoder: (str, decode, charset, type) => (type === 'key' ? group(decode(str, decode, charset)) : decode(str, decode, charset)),
    })
  } catch (err) {
    throw new AppError(400, 'invalid_parameters', `The parameters cannot be read: ${(err as Error).message}`)
  }
}

// `name[][child]rest`: an element of the array `name` whose field is `child`. Only top-level names:
// no request parameter nests an array of objects inside another.
const RACK_ELEMENT = /^([^[\]]+)\[\]\[([^[\]]+)\](.*)$/s

/**
 * Rack's rule for `name[][child]`: the pair goes into the array's last element unless that element
 * already has `child` as a single value, which starts a new element (a list child, `child[]`, keeps
 * adding to the same element). Rewritten to indexed keys, which qs then nests.
 */
function rackGrouping(): (key: string) => string {
  const arrays = new Map<string, { index: number; fields: Set<string> }>()
  return (key) => {
    const match = RACK_ELEMENT.exec(key)
    if (!match) return key
    const [, name, child, rest] = match
    let current = arrays.get(name)
    if (!current) arrays.set(name, (current = { index: 0, fields: new Set() }))
    else if (!rest.startsWith('[]') && current.fields.has(child)) current = { index: current.index + 1, fields: new Set() }
    arrays.set(name, current)
    current.fields.add(child)
    return `${name}[${current.index}][${child}]${rest}`
  }
}
