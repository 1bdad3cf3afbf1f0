// Whole requests for every operation of the OpenAPI document: a caller, path parameters, a query
// string and a body from the operation's schemas (generate.ts), sometimes mangled the way clients
// and attackers mangle them: raw path segments, broken percent-encoding, repeated or unknown query
// parameters, an empty or truncated body, the wrong content type, deep nesting.
import fc from 'fast-check'
import { generator } from './generate.js'
import { mutateOne, mutation } from './mutate.js'
import { type OpenApiDocument, type Operation, operationsOf } from './openapi.js'
import { PATH_SEGMENT_TRAPS, QUERY_TRAPS, RawJson, toJsonText, toText, type Value, wrongType } from './values.js'
import { CALLERS, type CallerName, type Pools } from './world.js'

export interface FuzzRequest {
  operation: string
  method: string
  url: string
  caller: CallerName
  contentType?: string
  payload?: string
  /** Sent this many times at once: two writers racing past a check-then-write. */
  copies: number
}

const JSON_TYPE = 'application/json'
const FORM_TYPE = 'application/x-www-form-urlencoded'
const BROKEN_BODIES = ['', 'null', '[]', '"x"', '{', '{"a":', '{"name":"a","name":"b"}', '{"__proto__":{"is_admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}', '\u0000', '{"a":"\\ud800"}', '{"a":"\\u0000"}', `${'['.repeat(3000)}${']'.repeat(3000)}`, 'x'.repeat(2_000_000)]
const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/xml', '']

// Directory and decision routes are for services; the rest mostly for people and their tokens.
const SERVICE_ROUTES = /^\/(api\/v4\/(authorize|directory|secret_scanning)|oauth)/
const callersFor = (op: Operation) => SERVICE_ROUTES.test(op.path)
  ? fc.oneof({ weight: 8, arbitrary: fc.constant<CallerName>('service') }, { weight: 2, arbitrary: fc.constantFrom<CallerName>(...CALLERS) })
  : fc.oneof(
    { weight: 3, arbitrary: fc.constant<CallerName>('admin') },
    { weight: 4, arbitrary: fc.constant<CallerName>('user') },
    { weight: 6, arbitrary: fc.constantFrom<CallerName>('service', 'owner', 'pat', 'legacy_pat') },
    { weight: 2, arbitrary: fc.constantFrom<CallerName>(...CALLERS) },
  )

/** Percent-encoding that also writes lone surrogates (as their WTF-8 bytes), which encodeURIComponent refuses. */
function encode(v: Value): string {
  return toText(v).replace(/[^\ud800-\udfff]+|[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, (part) => {
    if (part.length > 1 || part.charCodeAt(0) < 0xd800 || part.charCodeAt(0) > 0xdfff) return encodeURIComponent(part)
    const c = part.charCodeAt(0)
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')
  })
}

/** A body as a form in GitLab's bracket notation: `scopes[]=api`, `granular_scopes[0][access]=user`, null as empty. */
function toFormText(v: Value): string {
  if (v === null || typeof v !== 'object' || v instanceof RawJson || Array.isArray(v)) return toText(v)
  const pairs: string[] = []
  const isNested = (x: Value) => x !== null && typeof x === 'object' && !(x instanceof RawJson)
  const walk = (name: string, x: Value): void => {
    if (Array.isArray(x)) x.forEach((item, i) => walk(isNested(item) ? `${name}[${i}]` : `${name}[]`, item))
    else if (isNested(x)) for (const [key, y] of Object.entries(x as Record<string, Value>)) walk(`${name}[${encode(key)}]`, y)
    else pairs.push(`${name}=${x === null ? '' : encode(x)}`)
  }
  for (const [key, x] of Object.entries(v)) walk(encode(key), x)
  return pairs.join('&')
}

// `{id}` means a different thing on each route: name it after the collection it indexes.
const COLLECTION_IDS: [RegExp, string][] = [
  [/personal_access_tokens\/\{id\}/, 'token_id'], [/personal_access_token_templates\/\{id\}/, 'template_id'],
  [/groups\/\{id\}/, 'group_id'], [/namespaces\/\{id\}/, 'namespace_id'], [/users\/\{id\}/, 'user_id'],
]
// Routes below one group's service accounts or webhooks: ids of that group's rows, mostly.
const SCOPED_IDS: [RegExp, string, string][] = [
  [/\/service_accounts/, 'id', 'service_account_group_id'], [/\/service_accounts/, 'user_id', 'service_account_id'],
  [/\/service_accounts/, 'token_id', 'service_account_token_id'],
  [/^\/api\/v4\/admin\/personal_access_token_webhooks/, 'webhook_id', 'instance_webhook_id'],
  [/^\/api\/v4\/groups\/\{id\}\/personal_access_token_webhooks/, 'webhook_id', 'group_webhook_id'],
  [/^\/api\/v4\/groups\/\{id\}\/personal_access_token_(webhooks|requests)/, 'id', 'webhook_group_id'],
]
const idName = (path: string, name: string) => SCOPED_IDS.find(([re, param]) => param === name && re.test(path))?.[2]
  ?? (name === 'id' ? COLLECTION_IDS.find(([re]) => re.test(path))?.[1] ?? name : name)

interface Parts {
  caller: CallerName
  path: string
  query: [string, Value][]
  extraQuery: readonly string[]
  body: { contentType?: string; payload?: Value | string }
}

const queryString = (pairs: [string, Value][]) =>
  pairs.flatMap(([name, v]) => (Array.isArray(v) ? v.map((x) => `${name}=${encode(x)}`) : [`${name}=${encode(v)}`]))

function toRequest(op: Operation, parts: Parts): FuzzRequest {
  const q = [...queryString(parts.query), ...parts.extraQuery].join('&')
  const { contentType, payload } = parts.body
  return {
    operation: op.operationId, method: op.method, url: q ? `${parts.path}?${q}` : parts.path, caller: parts.caller,
    contentType, payload: payload === undefined || typeof payload === 'string' ? payload : toJsonText(payload), copies: 1,
  }
}

function partsFor(doc: OpenApiDocument, op: Operation, pools: Pools, hostility: number): fc.Arbitrary<Parts> {
  const gen = generator(doc, pools)
  const pathParams = op.parameters.filter((p) => p.in === 'path')
  const queryParams = op.parameters.filter((p) => p.in === 'query')

  const segment = (schemaValue: fc.Arbitrary<Value>) => hostility === 0
    ? schemaValue.map(encode)
    : fc.oneof({ weight: 100 - hostility, arbitrary: schemaValue.map(encode) }, { weight: hostility, arbitrary: fc.constantFrom(...PATH_SEGMENT_TRAPS) })
  const path = fc.tuple(...pathParams.map((p) => segment(gen.value(p.schema, idName(op.path, p.name), hostility)))).map((values) =>
    pathParams.reduce((url, p, i) => url.replace(`{${p.name}}`, values[i]), op.path))

  const query = fc.tuple(...queryParams.map((p) => fc.tuple(fc.constant(p.name), gen.value(p.schema, p.name, hostility), fc.integer({ min: 0, max: 99 }))))
    .map((all) => all.filter(([, , n]) => n < 35).map(([name, v]): [string, Value] => [name, v]))
  const extraQuery = hostility === 0 ? fc.constant<string[]>([]) : fc.option(fc.oneof(
    fc.tuple(fc.constantFrom(...queryParams.map((p) => p.name), 'page', 'unknown', '__proto__', 'a[b]'), fc.constantFrom(...QUERY_TRAPS)).map(([k, v]) => [`${k}=${v}`]),
    fc.constant<string[]>(['page=1', 'page=2']),
    fc.constant<string[]>(['%ZZ']),
  ), { freq: Math.max(2, Math.round(60 / hostility)), nil: [] as string[] })

  const jsonSchema = op.body?.[JSON_TYPE]
  const formSchema = op.body?.[FORM_TYPE]
  const asJson = jsonSchema && gen.value(jsonSchema, 'body', hostility).map((payload): Parts['body'] => ({ contentType: JSON_TYPE, payload }))
  // Routes that take GitLab's forms get one now and then: the same values, as text.
  const asForm = formSchema && gen.value(formSchema, 'body', hostility).map((payload): Parts['body'] => ({ contentType: FORM_TYPE, payload: toFormText(payload) }))
  const goodBody: fc.Arbitrary<Parts['body']> = asJson && asForm ? fc.oneof({ weight: 3, arbitrary: asJson }, { weight: 1, arbitrary: asForm }) : (asJson || fc.constant({}))
  const badBody = fc.oneof(
    fc.constantFrom(...BROKEN_BODIES).map((payload) => ({ contentType: JSON_TYPE, payload })),
    fc.tuple(fc.constantFrom(...OTHER_TYPES), jsonSchema ? gen.value(jsonSchema, 'body', 0) : wrongType).map(([contentType, v]) => ({ contentType, payload: toJsonText(v) })),
    fc.constant({ contentType: JSON_TYPE, payload: new RawJson(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`) }),
    fc.constant({ contentType: 'application/x-www-form-urlencoded', payload: 'token=%00&token_type_hint=%ED%A0%80' }),
    fc.constant({ contentType: undefined, payload: '{"a":1}' }),
  )
  const broken = Math.ceil(hostility / 2)
  const body = hostility === 0 ? goodBody : fc.oneof({ weight: 100 - broken, arbitrary: goodBody }, { weight: broken, arbitrary: badBody })

  return fc.record({ caller: callersFor(op), path, query, extraQuery, body })
}

/** A plausible request with exactly one value poisoned: in the body or the query when there are any. */
function mutantFor(doc: OpenApiDocument, op: Operation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(partsFor(doc, op, pools, 0), fc.nat(), mutation).map(([parts, n, m]) => {
    const { payload } = parts.body
    const inBody = payload !== undefined && typeof payload !== 'string' && (parts.query.length === 0 || n % 3 !== 0)
    if (inBody) return toRequest(op, { ...parts, body: { ...parts.body, payload: mutateOne(payload, n, m) } })
    if (parts.query.length > 0) {
      const i = n % parts.query.length
      return toRequest(op, { ...parts, query: parts.query.map(([k, v], j): [string, Value] => [k, j === i ? mutateOne(v, n, m) : v]) })
    }
    return toRequest(op, { ...parts, extraQuery: [`${op.parameters[0]?.name ?? 'x'}=${encode(m('1'))}`] })
  })
}

/**
 * Every operation equally often; each request plausible, plausible but for one poisoned value,
 * lightly hostile (a value or two off) or very hostile (most values off, broken bodies); one in 25
 * sent three times at once.
 */
export function fuzzRequests(doc: OpenApiDocument, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(anyRequest(doc, pools), fc.integer({ min: 0, max: 24 })).map(([request, n]) => (n === 0 ? { ...request, copies: 3 } : request))
}

function anyRequest(doc: OpenApiDocument, pools: Pools): fc.Arbitrary<FuzzRequest> {
  const ops = operationsOf(doc)
  // Now and then another method on the same URL: HEAD (which Fastify answers with the GET handler), OPTIONS, the wrong verb.
  const otherMethod = (op: Operation) => fc.tuple(partsFor(doc, op, pools, 0), fc.constantFrom('HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'POST', 'GET'))
    .map(([parts, method]) => ({ ...toRequest(op, parts), method }))
  return fc.oneof(...ops.map((op) => fc.oneof(
    { weight: 1, arbitrary: otherMethod(op) },
    { weight: 3, arbitrary: partsFor(doc, op, pools, 0).map((parts) => toRequest(op, parts)) },
    { weight: 4, arbitrary: mutantFor(doc, op, pools) },
    { weight: 2, arbitrary: partsFor(doc, op, pools, 5).map((parts) => toRequest(op, parts)) },
    { weight: 2, arbitrary: partsFor(doc, op, pools, 40).map((parts) => toRequest(op, parts)) },
  )))
}
