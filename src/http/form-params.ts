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
  // The largest maxItems of a request list (500 group ids): a longer list is refused while parsing.
  arrayLimit: 500,
  // Refused past this many, not truncated. qs's cost grows faster than the count (building arrays
  // copies them): 1,000 pairs take a few milliseconds, JSON is the way for anything larger.
  parameterLimit: 1000,
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
const INDEXED_ELEMENT = /^[^[\]]+\[(\d+)\]\[/

/**
 * Elements of an array of objects (granular_scopes: at most 100). Each costs qs far more than a
 * plain list item, so a longer one is refused before it is built.
 */
export const MAX_FORM_OBJECTS = 100

/**
 * Rack's rule for `name[][child]`: the pair goes into the array's last element unless that element
 * already has `child` as a single value, which starts a new element (a list child, `child[]`, keeps
 * adding to the same element). Rewritten to indexed keys, which qs then nests.
 */
function rackGrouping(): (key: string) => string {
  const arrays = new Map<string, { index: number; fields: Set<string> }>()
  return (key) => {
    const match = RACK_ELEMENT.exec(key)
    if (!match) {
      const indexed = INDEXED_ELEMENT.exec(key)
      if (indexed && Number(indexed[1]) >= MAX_FORM_OBJECTS) throw tooManyObjects(key)
      return key
    }
    const [, name, child, rest] = match
    let current = arrays.get(name)
    if (!current) arrays.set(name, (current = { index: 0, fields: new Set() }))
    else if (!rest.startsWith('[]') && current.fields.has(child)) current = { index: current.index + 1, fields: new Set() }
    if (current.index >= MAX_FORM_OBJECTS) throw tooManyObjects(key)
    arrays.set(name, current)
    current.fields.add(child)
    return `${name}[${current.index}][${child}]${rest}`
  }
}

function tooManyObjects(key: string): RangeError {
  return new RangeError(`${key.slice(0, key.indexOf('['))} holds more than ${MAX_FORM_OBJECTS} objects`)
}
