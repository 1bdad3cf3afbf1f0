// The compilers of every route schema: request validators (validation.ts) and response serializers
// (serialization.ts), both kept for the process.
//
// Installed through the `schemaController.compilersFactory` server option rather than
// setValidatorCompiler / setSerializerCompiler: a plugin that calls addSchema gets fresh compilers
// from the factory, and a compiler set on the instance would be lost there.
import type { FastifyServerOptions } from 'fastify'
import { buildSerializer } from './serialization.js'
import { buildValidator } from './validation.js'

type SchemaControllerOptions = NonNullable<FastifyServerOptions['schemaController']>
type Factories = NonNullable<SchemaControllerOptions['compilersFactory']>

// Fastify's types name the JSON-Type-Definition variant too; these factories only serve JSON Schema.
export const schemaController: SchemaControllerOptions = {
  compilersFactory: {
    buildValidator: buildValidator as unknown as NonNullable<Factories['buildValidator']>,
    buildSerializer: buildSerializer as unknown as NonNullable<Factories['buildSerializer']>,
  },
}
