// Route schemas are compiled once per process (http/schema-compilers.ts): an app built again from the
// same schemas gets the validators and serializers already made, while Fastify hands every app its
// own copies of the shared schemas. What differs must still be compiled for itself.
import t from 'tap'
import { Type } from 'typebox'
import { buildSerializer } from '../../src/http/serialization.js'
import { buildValidator } from '../../src/http/validation.js'

// As Fastify's addSchema store gives each app: a copy of every shared schema.
const copy = <T>(schema: T): T => structuredClone(schema)
const Owner = Type.Object({ id: Type.Integer(), name: Type.String() }, { $id: 'CompilerTestOwner' })
const Body = Type.Object({ owner: Type.Ref('CompilerTestOwner'), note: Type.Optional(Type.String()) })
const shared = () => ({ CompilerTestOwner: copy(Owner) })

t.test('validators: a second app from the same schemas gets the same functions', async (t) => {
  const first = buildValidator(shared())
  const second = buildValidator(shared())
  const body = first({ schema: Body, httpPart: 'body' })
  t.equal(second({ schema: Body, httpPart: 'body' }), body, 'the body validator is not compiled again')
  const query = Type.Object({ page: Type.Optional(Type.Integer()) })
  t.equal(second({ schema: query, httpPart: 'querystring', method: 'GET' }), first({ schema: query, httpPart: 'querystring', method: 'GET' }))
  t.ok(body({ owner: { id: 1, name: 'a' } }))
  t.notOk(body({ owner: { id: 'x', name: 'a' } }), 'and it still validates')
})

t.test('validators: each mode keeps its own rules', async (t) => {
  const compile = buildValidator(shared())
  const schema = Type.Object({ n: Type.Integer() })
  const strict = compile({ schema, httpPart: 'body' })
  const coercing = compile({ schema, httpPart: 'params' })
  t.not(strict, coercing)
  t.notOk(strict({ n: '2' }), 'a JSON body is not coerced')
  const params = { n: '2' }
  t.ok(coercing(params), 'a URL parameter is')
  t.same(params, { n: 2 })
  const lenient = compile({ schema: Type.Object({ n: Type.Integer() }, { additionalProperties: false }), httpPart: 'querystring', method: 'GET' })
  const query: Record<string, unknown> = { n: '1', per_page: '20' }
  t.ok(lenient(query), 'a GET query drops what its route does not know')
  t.same(query, { n: 1 })
})

t.test('validators: other shared content, or another schema object, is compiled for itself', async (t) => {
  const other = buildValidator({ CompilerTestOwner: Type.Object({ id: Type.String() }, { $id: 'CompilerTestOwner' }) })
  const usual = buildValidator(shared())
  const withOther = other({ schema: Body, httpPart: 'body' })
  t.not(withOther, usual({ schema: Body, httpPart: 'body' }))
  t.ok(withOther({ owner: { id: 'x' } }), 'the reference resolves to that shared schema')
  const lookalike = copy(Body)
  t.not(usual({ schema: lookalike, httpPart: 'body' }), usual({ schema: Body, httpPart: 'body' }), 'a schema made afresh is not answered by another object\'s validator')
})

t.test('serializers: a second app from the same schemas gets the same functions', async (t) => {
  const Reply = Type.Object({ owner: Type.Ref('CompilerTestOwner'), count: Type.Integer() })
  const first = buildSerializer(shared())({ schema: Reply })
  t.equal(buildSerializer(shared())({ schema: Reply }), first, 'not compiled again')
  t.equal(first({ owner: { id: 1, name: 'a', secret: 's' }, count: 2, extra: true }), '{"owner":{"id":1,"name":"a"},"count":2}', 'only what the schema names')
  const other = buildSerializer({ CompilerTestOwner: Type.Object({ id: Type.Integer() }, { $id: 'CompilerTestOwner' }) })({ schema: Reply })
  t.not(other, first)
  t.equal(other({ owner: { id: 1, name: 'a' }, count: 2 }), '{"owner":{"id":1},"count":2}', 'other shared content: its own serializer')
  // A response schema that is itself a shared one is compiled without its own copy among the shared.
  t.equal(buildSerializer(shared())({ schema: copy(Owner) })({ id: 3, name: 'b' }), '{"id":3,"name":"b"}')
})
