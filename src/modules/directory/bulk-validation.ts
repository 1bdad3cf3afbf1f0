// Validation of a bulk body (up to 50,000 of each kind) a slice of time at a time: Ajv over the
// whole body at once held the event loop ~40 ms when valid and over 200 ms when every item was
// wrong (allErrors builds an error per problem). The shape is checked first, then each item with
// a compiled item validator; the work ends once 100 problems are found.
import type { ErrorObject, ValidateFunction } from 'ajv'
import { buildValidator } from '../../http/validation.js'
import { LoopBudget } from '../../http/yield.js'
import { BulkMembership, BulkNamespace, BulkUser, MAX_BULK } from './schemas.js'

/** A body with more problems than this lists only these; fixing them shows the next ones. */
const MAX_REPORTED_ERRORS = 100

export class BulkValidationError extends Error {
  readonly validationContext = 'body'
  constructor(readonly validation: ErrorObject[]) {
    super('body is invalid')
  }
}

const compile = buildValidator({})
const ITEM_VALIDATORS: Record<string, ValidateFunction> = {
  users: compile({ schema: BulkUser, httpPart: 'body' }) as ValidateFunction,
  namespaces: compile({ schema: BulkNamespace, httpPart: 'body' }) as ValidateFunction,
  memberships: compile({ schema: BulkMembership, httpPart: 'body' }) as ValidateFunction,
}

const issue = (instancePath: string, keyword: string, message: string, params: Record<string, unknown> = {}): ErrorObject =>
  ({ instancePath, keyword, message, params, schemaPath: '' }) as ErrorObject

/** Resolves when `body` matches BulkBody; rejects with a BulkValidationError (400) otherwise. */
export async function validateBulkBody(body: unknown): Promise<true> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BulkValidationError([issue('', 'type', 'must be object')])
  const shape: ErrorObject[] = []
  for (const [key, value] of Object.entries(body)) {
    if (!(key in ITEM_VALIDATORS)) shape.push(issue('', 'additionalProperties', 'must NOT have additional properties', { additionalProperty: key }))
    else if (!Array.isArray(value)) shape.push(issue(`/${key}`, 'type', 'must be array'))
    else if (value.length > MAX_BULK) shape.push(issue(`/${key}`, 'maxItems', `must NOT have more than ${MAX_BULK} items`))
  }
  if (shape.length > 0) throw new BulkValidationError(shape)

  const errors: ErrorObject[] = []
  const budget = new LoopBudget()
  for (const [key, validate] of Object.entries(ITEM_VALIDATORS)) {
    const items = (body as Record<string, unknown[] | undefined>)[key] ?? []
    for (let i = 0; i < items.length; i++) {
      if (!validate(items[i])) {
        for (const e of validate.errors ?? []) errors.push({ ...e, instancePath: `/${key}/${i}${e.instancePath}` })
        if (errors.length >= MAX_REPORTED_ERRORS) throw new BulkValidationError(errors.slice(0, MAX_REPORTED_ERRORS))
      }
      if ((i & 31) === 31) await budget.pause()
    }
  }
  if (errors.length > 0) throw new BulkValidationError(errors)
  return true
}
