// Response serializers, as Fastify's default (@fastify/fast-json-stringify-compiler) makes them, but
// kept for the process like the validators (validation.ts): by the shared schemas' names and content
// and by the response schema object (our modules' constants). fast-json-stringify generates and
// compiles a function per route and status code; an app built again from the same schemas (the
// test suite builds ~350) made them all again, ~150 ms of CPU per app.
import fastJsonStringify from 'fast-json-stringify'
import { sharedKey } from './validation.js'

type Serializer = (data: unknown) => string

const serializers = new Map<string, WeakMap<object, Serializer>>()

export function buildSerializer(shared: Record<string, unknown>, serializerOpts?: Record<string, unknown>) {
  const key = `${sharedKey(shared)} ${JSON.stringify(serializerOpts ?? {})}`
  const known = serializers.get(key) ?? new WeakMap<object, Serializer>()
  serializers.set(key, known)
  return ({ schema }: { schema: object }): Serializer => {
    let serialize = known.get(schema)
    if (serialize === undefined) {
      // As the default: a response schema that is itself one of the shared ones is not given among them.
      const id = (schema as { $id?: unknown }).$id
      const others = typeof id === 'string' && id in shared ? Object.fromEntries(Object.entries(shared).filter(([name]) => name !== id)) : shared
      serialize = fastJsonStringify(schema as fastJsonStringify.Schema, { ...serializerOpts, schema: others as Record<string, fastJsonStringify.Schema> }) as Serializer
      known.set(schema, serialize)
    }
    return serialize
  }
}
