// POST /api/v4/secret_scanning/reports — GitHub's secret-scanning partner program, pointed at this
// service: GitHub (or any scanner) posts what it found, signed with its published key, and gets a
// label per match. A service holding a JWT with the `leaks:report` scope may report too (an
// internal scanner, a SOC tool).
//
// Registered as its own (encapsulated) plugin so that its JSON parser, which keeps the raw bytes a
// signature is made over, applies to this route only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { auditContext } from '../../http/context.js'
import { AppError } from '../../http/errors.js'
import { checkJsonDepth, JsonTooDeepError } from '../../http/json-scan.js'
import { MAX_JSON_DEPTH } from '../../http/json-body.js'
import { errorResponses } from '../../http/schemas.js'
import * as S from './schemas.js'
import type { createLeakService } from './service.js'
import { createSignatureVerifier, KEY_ID_HEADER, SIGNATURE_HEADER } from './signature.js'

export const LEAK_REPORT_SCOPE = 'leaks:report'

/** One answer for every signature failure: which part failed would only help a forger. */
const badSignature = () => new AppError(401, 'invalid_signature', 'The report signature is missing or does not verify against a configured key')

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name]
  return typeof v === 'string' ? v : undefined
}
const isSigned = (request: FastifyRequest) => request.headers[KEY_ID_HEADER] !== undefined || request.headers[SIGNATURE_HEADER] !== undefined

export const leakRoutes: FastifyPluginAsyncTypebox<{ service: ReturnType<typeof createLeakService> }> = async (app, { service }) => {
  app.addSchema(S.LeakLabel)
  const verify = createSignatureVerifier(app.config.leakReportPublicKeys)
  /** Signed requests whose signature verified, with the key that signed. */
  const verified = new WeakMap<FastifyRequest, string>()
  /** Signed requests whose signature was checked on their body and failed. */
  const checked = new WeakSet<FastifyRequest>()

  /** Whether the signature verifies; remembers the key that signed. */
  function checkSignature(request: FastifyRequest, raw: Buffer): boolean {
    const keyId = header(request, KEY_ID_HEADER)
    const signature = header(request, SIGNATURE_HEADER)
    const check = keyId && signature ? verify(keyId, signature, raw) : { ok: false as const }
    if (check.ok) verified.set(request, check.keyIdentifier)
    return check.ok
  }

  // The signature is checked on the raw bytes before they are parsed: a forged request learns
  // nothing, not even whether its JSON was valid. A bad one leaves the body unparsed and is refused
  // in preValidation, which can count it with the other failed authentications of its address
  // (AUTH_FAILURE_LIMIT: no unlimited signature guessing) and set Retry-After on the 429.
  const defaultJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    try {
      if (isSigned(request) && !checkSignature(request, body)) {
        checked.add(request)
        return done(null, undefined)
      }
      if (body.length === 0) return done(null, undefined)
      checkJsonDepth(body, MAX_JSON_DEPTH)
    } catch (err) {
      return done(err instanceof JsonTooDeepError ? new AppError(400, 'json_too_deep', err.message) : (err as Error))
    }
    defaultJson(request, body.toString('utf8'), done)
  })

  const jwtGuard = app.requireScope(LEAK_REPORT_SCOPE)

  app.post('/secret_scanning/reports', {
    // Signed: the signature is the credential (checked with the body). Otherwise a JWT with the scope.
    onRequest: (request, reply, done) => (isSigned(request) ? done() : jwtGuard.call(app, request, reply, done)),
    // A signed request with no body at all never reached the parser: it is checked here.
    preValidation: async (request, reply) => {
      if (!isSigned(request) || verified.has(request)) return
      if (checked.has(request) || !checkSignature(request, Buffer.alloc(0))) await app.refuseAuthFailure(request, reply, badSignature())
    },
    schema: {
      tags: ['secret_scanning'], operationId: 'reportLeakedTokens', summary: 'Report leaked tokens (GitHub secret scanning partner program)',
      description:
        'A secret scanner reports strings it found in public, as GitHub\'s secret-scanning partner program sends them. Authenticated either by GitHub\'s signature ' +
        `(headers Github-Public-Key-Identifier and Github-Public-Key-Signature: ECDSA P-256 / SHA-256 over the raw body, base64 DER, against LEAK_REPORT_PUBLIC_KEYS) or by a JWT with the "${LEAK_REPORT_SCOPE}" scope. ` +
        'Each issued token is revoked with reason leaked, together with every active token of its rotation family; its owner is mailed where it was found. ' +
        'The answer labels each match: true_positive for a token this service issued (also when it was already revoked or expired), false_positive otherwise. Reporting again changes nothing and mails nobody.',
      body: S.LeakReportBody,
      response: { 200: Type.Array(Type.Ref('LeakLabel')), ...errorResponses(400, 401, 403, 503) },
    },
  }, async (request) => {
    const keyId = verified.get(request)
    const ctx = keyId !== undefined
      ? { actor: { type: 'secret_scanner', id: keyId }, ip: request.ip ?? null, requestId: request.id }
      : auditContext(request)
    return service.report(request.body, ctx)
  })
}
