// Holds every route, present and future, to the input rules (README "Input rules"): read from the
// committed OpenAPI document, which the drift test keeps equal to the route schemas, every value a
// client sends is bounded. The text rule itself needs no listing: the validators add it to every
// request string (src/http/request-rules.ts); this checks which strings opt out.
import t from 'tap'
import { ANY_CHARACTERS } from '../../src/http/request-rules.js'
import { MAX_PAGE } from '../../src/http/schemas.js'
import { loadOpenApi, operationsOf, requestSchemas, type Schema, typesOf, walkSchema } from '../fuzz/openapi.js'

// Formats that bound a string's length by themselves (src/http/request-rules.ts).
const BOUNDED_FORMATS = new Set(['date', 'timestamp', 'ip'])

const doc = loadOpenApi()
const ops = operationsOf(doc)

function offenders(check: (s: Schema) => string | undefined): string[] {
  const found: string[] = []
  for (const op of ops) {
    for (const { where, schema } of requestSchemas(doc, op)) {
      walkSchema(doc, schema, where, (s, at) => {
        const problem = check(s)
        if (problem) found.push(`${at}: ${problem}`)
      })
    }
  }
  return [...new Set(found)]
}

t.test('the document has request schemas to check', async (t) => {
  const count = ops.reduce((n, op) => n + requestSchemas(doc, op).length, 0)
  t.ok(count > 80, `${count} request schemas in ${ops.length} operations`)
})

t.test('every request string is bounded: maxLength, or an enum, const or bounded format', async (t) => {
  t.same(offenders((s) => {
    if (!typesOf(s).includes('string') || s.enum !== undefined || s.const !== undefined) return undefined
    if (s.maxLength !== undefined || BOUNDED_FORMATS.has(s.format ?? '')) return undefined
    return 'string without maxLength'
  }), [])
})

t.test('every request integer and number has a minimum and a maximum', async (t) => {
  t.same(offenders((s) => {
    if (!typesOf(s).some((type) => type === 'integer' || type === 'number') || s.enum !== undefined || s.const !== undefined) return undefined
    if (s.maximum === undefined) return 'number without maximum'
    if (s.minimum === undefined) return 'number without minimum'
    return undefined
  }), [])
})

t.test('every request array has maxItems', async (t) => {
  t.same(offenders((s) => (typesOf(s).includes('array') && s.maxItems === undefined ? 'array without maxItems' : undefined)), [])
})

t.test('page numbers stop where offsets stay small (MAX_PAGE × per_page far inside bigint)', async (t) => {
  const pages = ops.flatMap((op) => op.parameters.filter((p) => p.in === 'query' && p.name === 'page').map((p) => ({ at: `${op.method} ${op.path}`, max: p.schema.maximum })))
  t.ok(pages.length >= 4, `${pages.length} paginated operations`)
  t.same(pages.filter((p) => p.max !== MAX_PAGE), [])
})

t.test('only /authorize resource paths opt out of the text rule', async (t) => {
  const exempt = offenders((s) => (s[ANY_CHARACTERS] === true ? 'exempt' : undefined))
  t.same(exempt.sort(), [
    'POST /api/v4/authorize body(application/json).resource.path: exempt',
    'POST /api/v4/authorize/batch body(application/json).checks[].resource.path: exempt',
  ])
})
