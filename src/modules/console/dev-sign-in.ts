// Development only (CONSOLE_DEV_SIGN_IN, which `npm start` turns on with its generated
// AUTH_JWT_SECRET): the console's "sign in as" picker. Lists the directory's users and hands out a
// short-lived user JWT for one of them, so a newcomer can try every flow as the demo admin or a
// demo user without minting credentials by hand. Never registered otherwise (config.ts refuses it
// without a development JWT secret, and production refuses that secret). Even then it answers only
// clients on this machine: `HOST=0.0.0.0 npm start` must not make every neighbour an administrator.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { signDevJwt } from '../../auth/dev-jwt.js'
import { serviceAccountSession } from '../../auth/plugin.js'
import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { AppError, notFound } from '../../http/errors.js'
import { errorResponses } from '../../http/schemas.js'

const DevUser = Type.Object({ id: Type.Integer(), username: Type.String(), name: Type.String(), is_admin: Type.Boolean() })

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/
function onlyFromThisMachine(request: FastifyRequest) {
  const ip = request.socket.remoteAddress ?? ''
  if (!isIP(ip) || !LOOPBACK.test(ip)) throw new AppError(403, 'dev_sign_in_local_only', 'Development sign-in answers only clients on the machine running the service')
}

export const devSignInRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { auth } = app.config
  const schema = { hide: true, tags: ['development'] }
  // The socket's address, not request.ip: a forwarded-for header must not make a remote client local.
  app.addHook('onRequest', async (request) => onlyFromThisMachine(request))

  app.get('/dev/users', {
    schema: { ...schema, summary: 'Development sign-in: the users to sign in as', response: { 200: Type.Array(DevUser) } },
  }, async () => app.db.selectFrom('users').select(['id', 'username', 'name', 'is_admin']).where('state', '=', 'active').where('kind', '=', 'human').orderBy('id').limit(100).execute())

  app.post('/dev/session', {
    schema: {
      ...schema, summary: 'Development sign-in: a user JWT valid for 8 hours',
      body: Type.Object({ user_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ token: Type.String(), expires_in: Type.Integer() }), ...errorResponses(400, 403, 404) },
    },
  }, async (request) => {
    const user = await app.db.selectFrom('users').select(['id', 'kind']).where('id', '=', request.body.user_id).where('state', '=', 'active').executeTakeFirst()
    if (!user) throw notFound('User')
    if (user.kind === 'service_account') throw serviceAccountSession()
    const token = await signDevJwt({
      secret: auth.jwtSecret, sub: String(user.id), expiresIn: '8h', issuer: auth.issuer || undefined, audience: auth.audience || undefined,
    })
    return { token, expires_in: 8 * 3600 }
  })
}
