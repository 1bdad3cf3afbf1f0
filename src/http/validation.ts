// Two validators: query strings and URL params arrive as text and need type coercion ("2" → 2);
// JSON bodies must not be coerced (a `parent_id: 0` silently becoming null would move a group to
// the root, `is_admin: "true"` would pass as true). Both apply the rules every request value obeys
// (request-rules.ts: well-formed text, calendar dates, IP addresses) to whatever schema they compile.
//
// Installed through the `schemaController.compilersFactory` server option rather than
// setValidatorCompiler: a plugin that calls addSchema gets a fresh compiler from the factory, and
// setValidatorCompiler's compiler would be lost there.
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'
import { addRequestRules, withTextRule } from './request-rules.js'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

function makeAjv(coerceTypes: boolean | 'array', shared: Record<string, unknown>): Ajv {
  // strictNumbers makes a JSON `1e309` (Infinity) "not a number". Not with coercion: Ajv then skips
  // minimum/maximum for a query's `page=1e309` coerced to Infinity, and it would pass. There the
  // maximum every request number has (test/integration/request-rules.test.ts) refuses it.
  //
  // validateSchema off: our schemas are TypeBox values in our own code (the OpenAPI check reads them
  // all), and checking them against JSON Schema's meta-schema compiled that meta-schema again for
  // every Ajv instance — two per plugin context, ~40% of the time an app took to start.
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: true, strict: false, strictNumbers: coerceTypes === false, validateSchema: false })
  addFormats(ajv)
  addRequestRules(ajv)
  for (const schema of Object.values(shared)) ajv.addSchema(withTextRule(schema) as object)
  return ajv
}

export function buildValidator(shared: Record<string, unknown>) {
  const strict = makeAjv(false, shared)
  const coercing = makeAjv('array', shared)
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? strict : coercing).compile(withTextRule(schema))
}

type SchemaControllerOptions = NonNullable<FastifyServerOptions['schemaController']>
type ValidatorFactory = NonNullable<NonNullable<SchemaControllerOptions['compilersFactory']>['buildValidator']>

// Fastify's type names the JSON-Type-Definition variant too; this factory only serves JSON Schema.
export const schemaController: SchemaControllerOptions = { compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory } }
