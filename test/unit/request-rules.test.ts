import t from 'tap'
import { Type } from 'typebox'
import { ANY_CHARACTERS, isWellFormedText, TEXT_RULE_KEYWORD, TEXT_RULE_MESSAGE, withTextRule } from '../../src/http/request-rules.js'
import { buildValidator } from '../../src/http/validation.js'

t.test('well-formed text: no NUL, no unpaired surrogate', async (t) => {
  for (const ok of ['', 'ci token', 'ä😀中', '\ud83d\ude00']) t.ok(isWellFormedText(ok), JSON.stringify(ok))
  for (const bad of ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\ude00\ud83d', 'end\ud83d']) t.notOk(isWellFormedText(bad), JSON.stringify(bad))
})

t.test('every string schema at any depth gets the rule, in a copy; enums, consts and the exempt do not', async (t) => {
  const schema = Type.Object({
    name: Type.String({ maxLength: 10 }),
    kind: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    list: Type.Array(Type.Object({ deep: Type.Union([Type.Null(), Type.String({ maxLength: 5 })]) })),
    either: Type.Unsafe({ type: ['null', 'string'], maxLength: 3 }),
    raw: Type.String({ maxLength: 10, [ANY_CHARACTERS]: true }),
    data: Type.String({ maxLength: 10, default: 'x', examples: [{ type: 'string' }] }),
  })
  const before = JSON.stringify(schema)
  const copy = withTextRule(schema) as unknown as { properties: Record<string, Record<string, unknown> & { items?: { properties: { deep: { anyOf: Record<string, unknown>[] } } }; anyOf?: Record<string, unknown>[] }> }
  t.equal(JSON.stringify(schema), before, 'the route schema itself (which feeds OpenAPI) is untouched')
  t.equal(withTextRule(schema), copy, 'the same schema gives the same copy (Ajv caches by object)')
  const p = copy.properties
  t.equal(p.name[TEXT_RULE_KEYWORD], true)
  t.equal(p.either[TEXT_RULE_KEYWORD], true)
  t.equal(p.list.items!.properties.deep.anyOf[1][TEXT_RULE_KEYWORD], true, 'inside arrays and unions')
  t.equal(p.data[TEXT_RULE_KEYWORD], true)
  t.same((p.data.examples as unknown[])[0], { type: 'string' }, 'data keywords are not walked')
  t.notOk(TEXT_RULE_KEYWORD in p.raw, 'opted out')
  t.notOk(p.kind.anyOf!.some((b) => TEXT_RULE_KEYWORD in b), 'literals are safe already')
})

t.test('the validators refuse bad text in bodies and query strings with a message naming the rule', async (t) => {
  const compile = buildValidator({})
  const body = compile({ schema: Type.Object({ items: Type.Array(Type.Object({ name: Type.String({ maxLength: 100 }) })) }), httpPart: 'body' })
  t.ok(body({ items: [{ name: 'fine' }] }))
  t.notOk(body({ items: [{ name: 'fine' }, { name: 'bad\u0000' }] }))
  t.match(body.errors, [{ instancePath: '/items/1/name', keyword: TEXT_RULE_KEYWORD, message: TEXT_RULE_MESSAGE }])
  const query = compile({ schema: Type.Object({ search: Type.String({ maxLength: 100 }), page: Type.Integer({ minimum: 1, maximum: 10 }) }), httpPart: 'querystring' })
  t.notOk(query({ search: '\ud800', page: '1' }))
  t.notOk(query({ search: 'x', page: '1e309' }), 'Infinity is not a page')
  t.ok(query({ search: 'x', page: '2' }))
})

t.test('formats: strict calendar date, timestamp, IP address', async (t) => {
  const compile = buildValidator({})
  const check = compile({
    schema: Type.Object({ d: Type.Optional(Type.String({ format: 'date' })), ts: Type.Optional(Type.String({ format: 'timestamp' })), ip: Type.Optional(Type.String({ format: 'ip' })) }),
    httpPart: 'body',
  })
  t.ok(check({ d: '2024-02-29', ts: '2026-01-01T00:00:00Z', ip: '10.0.0.2' }))
  t.ok(check({ ip: '2001:db8::1' }))
  for (const bad of [{ d: '0000-01-01' }, { d: '2026-13-01' }, { d: '2027-02-30' }, { ts: 'yesterday' }, { ts: '0000-00-00' }, { ip: '10.0.0.2\u0000' }, { ip: '999.1.1.1' }, { ip: '10.0.0.0/8' }]) {
    t.notOk(check(bad), JSON.stringify(bad))
  }
})
