// The console's development sign-in exists only when CONSOLE_DEV_SIGN_IN is on (npm start), needs
// the development JWT secret, and mints a user JWT that works for that user only.
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { build, testConfig } from '../../helpers/app.js'
import { ALICE, seedDirectory } from '../../helpers/fixtures.js'

t.test('off by default: the routes do not exist', async (t) => {
  const ctx = await build(t)
  t.equal((await ctx.app.inject({ method: 'GET', url: '/api/v4/dev/users' })).statusCode, 404)
  t.equal((await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: 1 } })).statusCode, 404)
})

t.test('refused without a development JWT secret', async (t) => {
  const base = testConfig('x')
  t.throws(() => loadConfig({
    NODE_ENV: 'test', DATABASE_URL: base.databaseUrl, REDIS_URL: base.redisUrl, TOKEN_PEPPERS: base.tokenPeppers[0],
    AUTH_JWT_KEYS: '{"keys":[]}', CONSOLE_DEV_SIGN_IN: 'true',
  }), /CONSOLE_DEV_SIGN_IN: needs AUTH_JWT_SECRET/)
})

t.test('on: lists users and signs in as one', async (t) => {
  const ctx = await build(t, { env: { CONSOLE_DEV_SIGN_IN: 'true' } })
  await seedDirectory(ctx)
  const users = await ctx.app.inject({ method: 'GET', url: '/api/v4/dev/users' })
  t.equal(users.statusCode, 200)
  t.match(users.json()[1], { id: ALICE, username: 'alice', is_admin: false })
  const session = await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: ALICE } })
  t.equal(session.statusCode, 200)
  const me = await ctx.app.inject({ method: 'GET', url: '/api/v4/user', headers: { authorization: `Bearer ${session.json().token}` } })
  t.equal(me.json().username, 'alice')
  t.equal((await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: 999 } })).statusCode, 404)
  t.equal((await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: 'x' } })).statusCode, 400)
  const remote = await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: ALICE }, remoteAddress: '10.1.2.3' })
  t.equal(remote.statusCode, 403)
  t.equal(remote.json().code, 'dev_sign_in_local_only')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/api/v4/dev/users', remoteAddress: '192.168.0.9', headers: { 'x-forwarded-for': '127.0.0.1' } })).statusCode, 403)
  const openapi = await ctx.app.inject({ method: 'GET', url: '/openapi.json' })
  t.notMatch(openapi.body, /\/dev\/session/, 'development routes are not part of the API document')
})
