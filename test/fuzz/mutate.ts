// One bad value in an otherwise good request: the way a hostile input gets past every check but
// one and reaches the code behind it (a NUL in a token name, a calendar trap in an expiry, 1e309 as
// a page). Schema-blind on purpose: any leaf of the request may take any poison.
import fc from 'fast-check'
import { BAD_NUMBER_TEXTS, CALENDAR_TRAPS, dataObject, hostileNumber, IP_TRAPS, RawJson, TIMESTAMP_TRAPS, toText, type Value, wrongType } from './values.js'

export type Mutation = (leaf: Value) => Value

const insert = (poison: string) => fc.nat().map((pos): Mutation => (leaf) => {
  const text = toText(leaf)
  const at = pos % (text.length + 1)
  return text.slice(0, at) + poison + text.slice(at)
})

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: insert('\u0000') },
  { weight: 4, arbitrary: fc.constantFrom('\ud800', '\udfff', '\ud83d', '\ude00').chain(insert) },
  { weight: 3, arbitrary: fc.constantFrom(...CALENDAR_TRAPS, ...TIMESTAMP_TRAPS, ...IP_TRAPS).map((trap): Mutation => () => trap) },
  { weight: 3, arbitrary: hostileNumber.map((n): Mutation => () => n) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_NUMBER_TEXTS).map((text): Mutation => () => text) },
  { weight: 2, arbitrary: wrongType.map((w): Mutation => () => w) },
  { weight: 1, arbitrary: fc.constantFrom(256, 1001, 70_000).map((n): Mutation => () => 'z'.repeat(n)) },
)

/** Every node of a value in document order: the candidates for a mutation. */
function countNodes(v: Value): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((n, x) => n + countNodes(x), 0)
  if (v !== null && typeof v === 'object' && !(v instanceof RawJson)) return 1 + Object.values(v).reduce<number>((n, x) => n + countNodes(x), 0)
  return 1
}

/** `value` with node number `index` (modulo the node count; 0 is the root) replaced by `m(node)`. */
export function mutateOne(value: Value, index: number, m: Mutation): Value {
  let target = index % countNodes(value)
  const visit = (v: Value): Value => {
    if (target-- === 0) return m(v)
    if (Array.isArray(v)) return v.map(visit)
    if (v !== null && typeof v === 'object' && !(v instanceof RawJson)) return dataObject(Object.entries(v).map(([k, x]) => [k, visit(x)]))
    return v
  }
  return visit(value)
}
