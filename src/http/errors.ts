// One error type, one handler: everything that goes wrong reaches the client as RFC 9457
// application/problem+json with a stable `code`, the request id and, for bad input, the fields to fix.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isRedisUnavailable } from '../cache/redis-breaker.js'
import { isPostgresUnavailable } from '../db/errors.js'
import { cameFromQuery } from './param-sources.js'
import { FORMAT_MESSAGES } from './request-rules.js'

export interface FieldError {
  path: string
  message: string
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** RFC 9457 extension members a client can act on (each declared in the Problem schema). */
    readonly extensions?: ProblemExtensions,
  ) {
    super(detail)
  }
}

/** The extension members a problem may carry. */
export interface ProblemExtensions {
  /** already_rotated, already_converted: the token that replaced the one named in the request. */
  successor_id?: number
}

export const badRequest = (code: string, detail: string, errors?: FieldError[]) => new AppError(400, code, detail, errors)
export const invalidField = (path: string, message: string, code = 'validation_failed') =>
  new AppError(400, code, `${path}: ${message}`, [{ path, message }])
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`)
export const forbidden = (detail: string, code = 'forbidden') => new AppError(403, code, detail)
export const unauthorized = (detail = 'Authentication required: send a valid bearer token') =>
  new AppError(401, 'unauthorized', detail)

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

function send(reply: FastifyReply, request: FastifyRequest, status: number, code: string, detail: string, errors?: FieldError[], extensions?: ProblemExtensions) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `urn:fgpat:problem:${code}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      // GitLab clients read `message`; keep it beside the RFC 9457 fields.
      message: detail,
      request_id: request.id,
      ...(errors ? { errors } : {}),
      ...extensions,
    })
}

interface AjvIssue {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

function toFieldErrors(context: string | undefined, issues: AjvIssue[], body: unknown): FieldError[] {
  const part = context === 'querystring' ? 'query' : (context ?? 'body')
  return issues.map((issue) => {
    const segments = issue.instancePath.split('/').filter(Boolean)
    if (issue.keyword === 'required') segments.push(String(issue.params.missingProperty))
    if (issue.keyword === 'additionalProperties') segments.push(String(issue.params.additionalProperty))
    // A write's query parameters are validated with its body (gitlab-wire.ts): name where they were.
    const where = part === 'body' && segments.length > 0 && cameFromQuery(body, segments[0]) ? 'query' : part
    const path = where + segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('')
    let message = issue.message ?? 'is invalid'
    if (issue.keyword === 'required') message = 'is required'
    if (issue.keyword === 'additionalProperties') message = 'is not a known field'
    if (issue.keyword === 'enum') message = `must be one of: ${(issue.params.allowedValues as unknown[]).join(', ')}`
    if (issue.keyword === 'format') message = FORMAT_MESSAGES[String(issue.params.format)] ?? message
    return { path, message }
  })
}

// Fastify's own refusals of a request body, under codes that say what to fix.
const FASTIFY_BODY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
}

function fastifyBodyDetail(code: string, request: FastifyRequest, message: string): string {
  if (code === 'payload_too_large') return `The request body is larger than this endpoint accepts (${request.routeOptions.bodyLimit} bytes)`
  return message
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status === 503) reply.header('retry-after', '1')
      return send(reply, request, error.status, error.code, error.detail, error.errors, error.extensions)
    }
    if (error.validation) {
      const errors = toFieldErrors(error.validationContext, error.validation as AjvIssue[], request.body)
      const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ')
      return send(reply, request, 400, 'validation_failed', detail, errors)
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const bodyCode = error.code ? FASTIFY_BODY_CODES[error.code] : undefined
      if (bodyCode) return send(reply, request, status, bodyCode, fastifyBodyDetail(bodyCode, request, error.message))
      const code = (error.code ?? 'bad_request').toLowerCase()
      return send(reply, request, status, code, error.message)
    }
    // PostgreSQL or Redis did not answer (a timeout, a lost connection, a server shutting down):
    // not a bug in the request or in us, and worth retrying.
    if (isPostgresUnavailable(error) || isRedisUnavailable(error)) {
      request.log.warn({ err: error.message }, 'a backing service is unavailable')
      reply.header('retry-after', '1')
      return send(reply, request, 503, 'unavailable', 'A backing service (PostgreSQL, Redis) did not answer in time; retry shortly')
    }
    request.log.error({ err: error }, 'unhandled error')
    if (status === 503) return send(reply, request, 503, 'unavailable', 'A backing service is unavailable; retry shortly')
    return send(reply, request, 500, 'internal_error', 'Something went wrong on our side; the request id identifies it in the logs')
  })
  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 404, 'route_not_found', `No route for ${request.method} ${request.url.split('?')[0]}`),
  )
}
