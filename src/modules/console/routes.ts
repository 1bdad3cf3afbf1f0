// The reference web console at /console: a single-page app (console/, built by Vite into
// dist/console) that uses only the public API. Served with a strict Content-Security-Policy — own
// scripts, styles and API only, no inline code, no framing — since it handles secrets: a new
// token's value is shown there once. A path that is not a file is the app itself (client routing).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { AppError } from '../../http/errors.js'
import { repoRoot } from '../../repo-root.js'

export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
  "manifest-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ')

function secureHeaders(reply: FastifyReply) {
  reply.header('content-security-policy', CONSOLE_CSP)
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'no-referrer')
  reply.header('cross-origin-opener-policy', 'same-origin')
  reply.header('x-frame-options', 'DENY')
}

export const consoleRoutes: FastifyPluginAsync<{ root?: string }> = async (app, opts) => {
  const root = opts.root ?? join(repoRoot(), 'dist', 'console')
  const index = join(root, 'index.html')
  app.addHook('onSend', async (_request, reply, payload) => {
    secureHeaders(reply)
    return payload
  })
  if (existsSync(root)) {
    // Hashed file names under assets/ never change content: cache them; index.html never.
    await app.register(fastifyStatic, {
      root, prefix: '/console/', wildcard: false, index: false, decorateReply: false,
      setHeaders: (res, path) => res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
    })
  }
  const app_ = async (_request: unknown, reply: FastifyReply) => {
    if (!existsSync(index)) throw new AppError(503, 'console_not_built', 'The console has not been built: run `npm start` (it builds it) or `npm run build:console`')
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(readFileSync(index))
  }
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/'))
  app.get('/console/', { schema: { hide: true } }, app_)
  app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
    // A missing asset is a 404, not the app: a stale page asking for an old chunk must fail loudly.
    if ((request.params as { '*': string })['*'].startsWith('assets/')) throw new AppError(404, 'not_found', 'No such console asset')
    return app_(request, reply)
  })
}
