// Two validators: query strings and URL params arrive as text and need type coercion ("2" → 2);
// JSON bodies must not be coerced (a `parent_id: 0` silently becoming null would move a group to
// the root, `is_admin: "true"` would pass as true). Both apply the rules every request value obeys
// (request-rules.ts: well-formed text, calendar dates, IP addresses) to whatever schema they compile.
//
// Two variations, for GitLab's wire (README, "GitLab compatibility"): the query string of a GET or
// HEAD drops parameters its route does not know (GitLab clients send `per_page` to every list)
// while the known ones are still checked; and parameters that arrived as text for a body (a form,
// or a write's query string; gitlab-params.ts) are converted by the body schema before the strict
// validator sees them, so a JSON body itself is never coerced.
//
// Installed with the serializers (schema-compilers.ts).
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { addRequestRules, withTextRule } from './request-rules.js'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

function makeAjv(coerceTypes: boolean | 'array', shared: Record<string, unknown>, removeAdditional = false): Ajv {
  // strictNumbers makes a JSON `1e309` (Infinity) "not a number". Not with coercion: Ajv then skips
  // minimum/maximum for a query's `page=1e309` coerced to Infinity, and it would pass. There the
  // maximum every request number has (test/integration/request-rules.test.ts) refuses it.
  //
  // validateSchema off: our schemas are TypeBox values in our own code (the OpenAPI check reads them
  // all), and checking them against JSON Schema's meta-schema compiled that meta-schema again for
  // every Ajv instance — two per plugin context, ~40% of the time an app took to start.
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional, allErrors: true, strict: false, strictNumbers: coerceTypes === false, validateSchema: false })
  addFormats(ajv)
  addRequestRules(ajv)
  for (const schema of Object.values(shared)) ajv.addSchema(withTextRule(schema) as object)
  return ajv
}

/** Per body schema (the route's own object), the validator that converts text parameters for it. */
const textCoercers = new WeakMap<object, () => ValidateFunction>()

type Mode = 'strict' | 'coercing' | 'lenient'

/**
 * The Ajv instances, kept for the process, by mode and by the shared schemas' names and content
 * (Fastify hands each app its own copies of them). Fastify asks for a compiler per plugin context,
 * ~20 per app; an Ajv compiles a schema object once and answers the same validator after that (its
 * cache is by object; withTextRule's copies are memoized, and route schemas are our modules'
 * constants). So an app built again from the same schemas (the test suite builds ~350) compiles
 * nothing again: that was ~300 ms of CPU per app. A schema made afresh per app is another object and
 * is compiled for itself.
 */
const ajvs = new Map<string, Ajv>()

export const sharedKey = (shared: Record<string, unknown>): string => JSON.stringify(Object.keys(shared).sort().map((name) => [name, shared[name]]))

function ajvFor(mode: Mode, shared: Record<string, unknown>, key: string): Ajv {
  const id = `${mode} ${key}`
  let ajv = ajvs.get(id)
  if (ajv === undefined) {
    // removeAdditional (lenient) drops what `additionalProperties: false` would refuse; the rest is validated as ever.
    ajv = mode === 'strict' ? makeAjv(false, shared) : makeAjv('array', shared, mode === 'lenient')
    ajvs.set(id, ajv)
  }
  return ajv
}

export function buildValidator(shared: Record<string, unknown>) {
  const key = sharedKey(shared)
  const compile = (mode: Mode, schema: object) => ajvFor(mode, shared, key).compile(withTextRule(schema))
  return ({ schema, httpPart, method }: { schema: object; httpPart?: string; method?: string }) => {
    if (httpPart === 'body') {
      let coerce: ValidateFunction | undefined
      textCoercers.set(schema, () => (coerce ??= compile('coercing', schema)))
      return compile('strict', schema)
    }
    if (httpPart === 'querystring' && (method === 'GET' || method === 'HEAD')) return compile('lenient', schema)
    return compile('coercing', schema)
  }
}

/**
 * Converts, in place, parameters that arrived as text for a route's body (`"30"` → 30, `"true"` →
 * true, `api` → ["api"]) as its schema types them, and the empty value as a GitLab client means it:
 * a list becomes empty (`allowed_ip_ranges=`), a value that may be null becomes null
 * (`legacy_tokens_blocked_from=`) except a token's `expires_at=`, which is left out (GitLab's
 * default expiry), and any other non-text value is left out. Plain text fields keep "". Whatever
 * cannot be converted is left as it is, for the strict validator to refuse with its path.
 */
export function coerceTextParams(bodySchema: object, values: Record<string, unknown>): void {
  for (const key of Object.keys(values)) {
    const field = propertyOf(bodySchema, key)
    if (!field) continue
    const value = values[key]
    // `allowed_ip_ranges[]=`: the one way a form writes an empty list
    if (Array.isArray(value)) {
      if (value.length === 1 && value[0] === '' && accepts(field, 'array')) values[key] = []
      continue
    }
    if (value !== '' || isPlainText(field)) continue
    // A token's `expires_at=` is "not given", as GitLab reads it (the default expiry applies), never
    // "never expires": that needs an explicit JSON null.
    if (key === 'expires_at') delete values[key]
    else if (accepts(field, 'array')) values[key] = []
    else if (accepts(field, 'null')) values[key] = null
    else delete values[key]
  }
  textCoercers.get(bodySchema)?.()(values)
}

type SchemaNode = { type?: unknown; format?: unknown; properties?: Record<string, SchemaNode>; anyOf?: SchemaNode[] }

function propertyOf(schema: SchemaNode, key: string): SchemaNode | undefined {
  if (schema.properties && Object.hasOwn(schema.properties, key)) return schema.properties[key]
  for (const branch of schema.anyOf ?? []) {
    const found = propertyOf(branch, key)
    if (found) return found
  }
  return undefined
}

function accepts(schema: SchemaNode, type: string): boolean {
  const { type: t } = schema
  return t === type || (Array.isArray(t) && t.includes(type)) || (schema.anyOf ?? []).some((branch) => accepts(branch, type))
}

/** Text where "" is a value: a string with no format (dates, timestamps and IPs have one). */
function isPlainText(schema: SchemaNode): boolean {
  if (schema.anyOf) return schema.anyOf.some(isPlainText)
  return accepts(schema, 'string') && schema.format === undefined
}
