// GitLab's wire, for the routes GitLab also has (tokens, policies, templates, the group inventory,
// audit, the catalog). GitLab (Grape) reads a request's parameters from its query string, an
// application/x-www-form-urlencoded body or a JSON body alike, and its clients and docs use all
// three: `curl --data "name=ci&scopes[]=api"`, `POST …/rotate?expires_at=2027-01-01`.
//
// On a write, the query string and a form are merged into the body (a body parameter wins over the
// same one in the query) and the whole is validated by the route's body schema: an unknown
// parameter is a 400 wherever it came from, since a typo in a policy knob must not be silently
// ignored. JSON values keep their JSON types; text values are converted by the schema
// (validation.ts, coerceTextParams). A GET or HEAD reads its query string as its schema says and
// ignores names it does not know (validation.ts). README.md, "GitLab compatibility", tells users.
import type {
  FastifyInstance, FastifyPluginAsync, FastifyPluginOptions, FastifyReply, FastifyRequest, FastifyTypeProvider, HookHandlerDoneFunction,
  RawServerDefault, RouteOptions,
} from 'fastify'
import { AppError, invalidField } from './errors.js'
import { parseParams } from './form-params.js'
import { markQueryParams } from './param-sources.js'
import { coerceTextParams } from './validation.js'

const FORM = 'application/x-www-form-urlencoded'
const READS = new Set(['GET', 'HEAD'])
const formBodies = new WeakSet<object>()

/** `routes`, registered in a context that speaks GitLab's wire (app.ts names each such module). */
export function gitlabWire<Options extends FastifyPluginOptions, Provider extends FastifyTypeProvider>(
  routes: FastifyPluginAsync<Options, RawServerDefault, Provider>,
): FastifyPluginAsync<Options, RawServerDefault, Provider> {
  return async (app, opts) => {
    registerGitLabWire(app as unknown as FastifyInstance)
    // The prefix was applied to this context already.
    const { prefix: _applied, ...rest } = opts as Options & { prefix?: string }
    await app.register(routes, rest as Options)
  }
}

function registerGitLabWire(app: FastifyInstance): void {
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    let params: Record<string, unknown>
    try {
      params = parseParams(body as string)
    } catch (err) {
      return done(err as Error)
    }
    formBodies.add(params)
    done(null, params)
  })
  app.addHook('onRoute', documentFormBodies)
  app.addHook('preValidation', mergeParams)
}

/** The OpenAPI document lists the form beside JSON for every body. */
function documentFormBodies(route: RouteOptions): void {
  if (route.schema?.body) route.schema.consumes = ['application/json', FORM]
}

function mergeParams(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (READS.has(request.method)) return done()
  try {
    mergeInto(request)
  } catch (err) {
    return done(err as Error)
  }
  done()
}

function mergeInto(request: FastifyRequest): void {
  const schema = request.routeOptions.schema
  const at = request.url.indexOf('?')
  // A route that declares query parameters of its own reads them there, as a read does.
  const query = at === -1 || schema?.querystring ? {} : parseParams(request.url.slice(at + 1))
  const form = isForm(request.body) ? request.body : undefined
  const queryNames = Object.keys(query)
  if (queryNames.length === 0 && form === undefined) return // a JSON body (or none), as ever
  if (Object.hasOwn(query, 'token')) {
    throw invalidField('query.token', 'a secret never goes in a URL (servers and proxies log URLs): send it in the body')
  }
  if (!schema?.body) {
    const unknown = queryNames.map((name) => `query.${name}`).concat(Object.keys(form ?? {}).map((name) => `body.${name}`))
    if (unknown.length > 0) throw unknownParams(unknown)
    return
  }
  const body = form ? {} : (request.body ?? {})
  // Not an object (an array, a string): the body schema refuses it with its own message.
  if (!isPlainObject(body)) return
  const text = { ...query, ...form }
  coerceTextParams(schema.body, text)
  const merged = { ...text, ...body }
  markQueryParams(merged, new Set(queryNames.filter((name) => !Object.hasOwn(form ?? body, name))))
  request.body = merged
}

function isForm(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && formBodies.has(body)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function unknownParams(paths: string[]): AppError {
  const errors = paths.map((path) => ({ path, message: 'is not a known field' }))
  return new AppError(400, 'validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; '), errors)
}
