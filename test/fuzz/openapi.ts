// The committed OpenAPI document as the fuzz harness and the request-rules test read it: every
// operation with the schemas of what a client sends (path parameters, query, body).
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { repoRoot } from '../../src/repo-root.js'

export type Schema = Record<string, unknown> & {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  additionalProperties?: boolean | Schema
  $ref?: string
}

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema: Schema
}

export interface Operation {
  method: string
  /** As in the document: /api/v4/personal_access_tokens/{id} */
  path: string
  operationId: string
  parameters: Parameter[]
  /** Content type → schema of the request body, when the operation takes one. */
  body?: Record<string, Schema>
  bodyRequired: boolean
  /** `security: []`: no credentials needed. */
  public: boolean
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId: string; parameters?: Parameter[]; requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }; security?: unknown[] }>>
  components: { schemas: Record<string, Schema> }
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch'])

export function loadOpenApi(file: string | URL = join(repoRoot(), 'openapi', 'openapi.json')): OpenApiDocument {
  return JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: op.parameters ?? [],
        body: op.requestBody ? Object.fromEntries(Object.entries(op.requestBody.content).map(([type, c]) => [type, c.schema])) : undefined,
        bodyRequired: op.requestBody?.required === true,
        public: Array.isArray(op.security) && op.security.length === 0,
      })),
  )
}

/** Follows a `#/components/schemas/X` reference (the only kind the document has). */
export function deref(doc: OpenApiDocument, schema: Schema): Schema {
  let s = schema
  for (let hops = 0; s.$ref !== undefined; hops++) {
    const name = s.$ref.replace('#/components/schemas/', '')
    const target = doc.components.schemas[name]
    if (!target || hops > 10) throw new Error(`unresolvable $ref ${s.$ref}`)
    s = target
  }
  return s
}

export const typesOf = (s: Schema): string[] => (s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type])

/** Calls `visit` for every schema inside `schema` (itself included), with a readable location. */
export function walkSchema(doc: OpenApiDocument, schema: Schema, where: string, visit: (s: Schema, where: string) => void, depth = 0): void {
  if (depth > 30) throw new Error(`schema nesting too deep at ${where}`)
  const s = deref(doc, schema)
  visit(s, where)
  for (const [key, sub] of Object.entries(s.properties ?? {})) walkSchema(doc, sub, `${where}.${key}`, visit, depth + 1)
  if (s.items) walkSchema(doc, s.items, `${where}[]`, visit, depth + 1)
  if (typeof s.additionalProperties === 'object') walkSchema(doc, s.additionalProperties, `${where}{}`, visit, depth + 1)
  for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walkSchema(doc, branch, where, visit, depth + 1)
}

/** Every schema a client sends to an operation: parameters and bodies, each with its location. */
export function requestSchemas(doc: OpenApiDocument, op: Operation): { where: string; schema: Schema }[] {
  const at = `${op.method} ${op.path}`
  return [
    ...op.parameters.map((p) => ({ where: `${at} ${p.in}.${p.name}`, schema: p.schema })),
    ...Object.entries(op.body ?? {}).map(([type, schema]) => ({ where: `${at} body(${type})`, schema })),
  ]
}
