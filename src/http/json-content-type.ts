// JSON answers say `Content-Type: application/json`, exactly, as GitLab's do. Fastify appends
// `; charset=utf-8`, which application/json does not define (RFC 8259: JSON is UTF-8, no charset
// parameter), and python-gitlab 3.x (Debian's python3-gitlab) parses a single-object answer only
// on the exact value: a token created through it came back as "a non-dictionary value". Problem
// details keep their own type (application/problem+json, errors.ts).
import type { FastifyInstance } from 'fastify'

const FASTIFY_JSON = 'application/json; charset=utf-8'

export function registerExactJsonContentType(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.getHeader('content-type') === FASTIFY_JSON) reply.header('content-type', 'application/json')
    done(null, payload)
  })
}
