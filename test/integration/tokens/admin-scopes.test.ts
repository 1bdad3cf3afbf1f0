// GitLab's admin scopes, sudo and admin_mode: only administrators' tokens may hold them; sudo is
// act_as_user alone; admin_mode is what ADMIN_MODE (GitLab's Admin Mode) asks of a legacy token before
// it uses its owner's administrator rights. Neither grants ordinary API access.
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ADMIN, ALICE, API_PROJECT, asUser, inDays, seedDirectory, WEBSITE } from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'

const legacy = (ctx: TestContext, userId: number, scopes: string[]) => createToken(ctx, userId, { granular_scopes: undefined, scopes })
const INSTANCE = { type: 'instance' }

t.test('only for administrators: a non-admin asking is a 400 naming the scope', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const post = async (as: number, scopes: string[], url = '/api/v4/user/personal_access_tokens') =>
    ctx.app.inject({ method: 'POST', url, headers: await asUser(ctx, as), payload: { name: 'x', expires_at: inDays(5), scopes } })
  for (const [scopes, path] of [[['sudo'], 'body.scopes[0]'], [['read_api', 'admin_mode'], 'body.scopes[1]']] as const) {
    const res = await post(ALICE, [...scopes])
    t.equal(res.statusCode, 400, `${scopes.join('+')}: 400`)
    t.equal(res.json().code, 'scope_requires_admin')
    t.same(res.json().errors, [{ path, message: `"${scopes.at(-1)}" is for administrators; the token owner is not one` }])
  }
  const forAlice = await post(ADMIN, ['api', 'sudo'], `/api/v4/users/${ALICE}/personal_access_tokens`)
  t.equal(forAlice.statusCode, 400, 'the owner counts, not who asks: an admin cannot give one to a non-admin')
  t.equal(forAlice.json().code, 'scope_requires_admin')
  const own = await post(ADMIN, ['api', 'sudo', 'admin_mode'])
  t.equal(own.statusCode, 201, own.body)
  t.same(own.json().scopes, ['api', 'sudo', 'admin_mode'])

  const api = (await legacy(ctx, ADMIN, ['api'])).token!
  const viaApi = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: patHeader(api), payload: { name: 'y', expires_at: inDays(5), scopes: ['read_api', 'sudo'] } })
  t.equal(viaApi.statusCode, 403, 'an api token cannot mint sudo: api does not hold it')
  t.equal(viaApi.json().code, 'broader_than_caller')
  t.match(viaApi.json().detail, /sudo/)
  const count = await ctx.app.db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 2, 'only the administrator\'s own token and the api token were written')

  const catalog = (await ctx.app.inject({ url: '/api/v4/permissions/legacy_scopes' })).json() as { name: string; permissions: unknown; admin_only: boolean; except?: string[] }[]
  t.match(catalog.find((s) => s.name === 'sudo'), { permissions: ['act_as_user'], admin_only: true })
  t.match(catalog.find((s) => s.name === 'admin_mode'), { permissions: [], admin_only: true })
  t.match(catalog.find((s) => s.name === 'api'), { permissions: 'all', except: ['act_as_user'], admin_only: false })
})

t.test('sudo: act_as_user for an administrator, nothing else', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const ask = await authorizer(ctx)
  const sudo = (await legacy(ctx, ADMIN, ['sudo'])).token!
  const api = (await legacy(ctx, ADMIN, ['api'])).token!
  t.match(await ask(sudo, 'act_as_user', INSTANCE), { allowed: true, reason: 'allowed' })
  t.match(await ask(api, 'act_as_user', INSTANCE), { allowed: false, reason: 'permission_not_granted', missing: ['User: Act as (sudo)'] }, 'api alone may not act as another user')
  t.match(await ask(sudo, 'read_code', { type: 'project', id: API_PROJECT }), { allowed: false, reason: 'permission_not_granted' }, 'no ordinary access')
  t.match(await ask(sudo, 'read_audit_events', INSTANCE), { allowed: false, reason: 'permission_not_granted' }, 'no admin access either')

  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/users/${ADMIN}`, headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'root', name: 'Instance Admin', email: 'admin@example.com', is_admin: false },
  })
  t.match(await ask(sudo, 'act_as_user', INSTANCE), { allowed: false, reason: 'insufficient_role' }, 'an owner no longer admin: denied at once')
})

t.test('ADMIN_MODE on: admin rights need admin_mode, in decisions and in this service\'s API', async (t) => {
  const ctx = await build(t, { env: { ADMIN_MODE: 'true' } })
  await seedDirectory(ctx)
  const ask = await authorizer(ctx)
  const api = (await legacy(ctx, ADMIN, ['api'])).token!
  const apiAdmin = (await legacy(ctx, ADMIN, ['api', 'admin_mode'])).token!
  const modeOnly = (await legacy(ctx, ADMIN, ['admin_mode'])).token!
  const sudo = (await legacy(ctx, ADMIN, ['sudo'])).token!
  const sudoAdmin = (await legacy(ctx, ADMIN, ['sudo', 'admin_mode'])).token!

  t.match(await ask(api, 'read_audit_events', INSTANCE), { allowed: false, reason: 'permission_not_granted', missing: ['Audit event: Read'] })
  t.match(await ask(apiAdmin, 'read_audit_events', INSTANCE), { allowed: true })
  t.match(await ask(modeOnly, 'read_audit_events', INSTANCE), { allowed: false, reason: 'permission_not_granted' }, 'admin_mode grants nothing by itself')
  t.match(await ask(modeOnly, 'read_code', { type: 'project', id: API_PROJECT }), { allowed: false, reason: 'permission_not_granted' })
  t.match(await ask(api, 'read_code', { type: 'project', id: WEBSITE }), { allowed: true }, 'ordinary permissions need no admin_mode (a public project)')
  t.match(await ask(sudo, 'act_as_user', INSTANCE), { allowed: false, reason: 'permission_not_granted' }, 'sudo needs admin_mode too')
  t.match(await ask(sudoAdmin, 'act_as_user', INSTANCE), { allowed: true })

  const inventory = (token: string) => ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: patHeader(token) })
  const refused = await inventory(api)
  t.equal(refused.statusCode, 403, 'this service\'s admin API: api alone is no admin reach')
  t.equal(refused.json().code, 'admin_required')
  t.equal((await inventory(apiAdmin)).statusCode, 200, 'api + admin_mode is')
  t.equal((await inventory(sudoAdmin)).statusCode, 403, 'sudo + admin_mode without api is not')

  const mint = (token: string) => ctx.app.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: patHeader(token),
    payload: { name: 'audit reader', expires_at: inDays(5), granular_scopes: [{ access: 'instance', permissions: ['read_audit_events'] }] },
  })
  const escalation = await mint(api)
  t.equal(escalation.statusCode, 403, 'api without admin_mode cannot mint a fine-grained token holding what it may not use')
  t.equal(escalation.json().code, 'broader_than_caller')
  t.match(escalation.json().detail, /read_audit_events/)
  t.equal((await mint(apiAdmin)).statusCode, 201, 'api + admin_mode can')
})

t.test('ADMIN_MODE off (the default): admin_mode changes nothing', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const ask = await authorizer(ctx)
  const api = (await legacy(ctx, ADMIN, ['api'])).token!
  t.match(await ask(api, 'read_audit_events', INSTANCE), { allowed: true })
  t.equal((await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: patHeader(api) })).statusCode, 200)
  const modeOnly = (await legacy(ctx, ADMIN, ['admin_mode'])).token!
  t.match(await ask(modeOnly, 'read_audit_events', INSTANCE), { allowed: false, reason: 'permission_not_granted' })
  t.equal((await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: patHeader(modeOnly) })).statusCode, 403)
})
