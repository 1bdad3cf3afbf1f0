import t from 'tap'
import { build, manualClock } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, asUser, inDays, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'

const manage = ['read_personal_access_token', 'create_personal_access_token', 'revoke_personal_access_token', 'rotate_personal_access_token']

t.test('a token that holds the management permissions manages its owner\'s tokens, never broader than itself', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const manager = await createToken(ctx, ALICE, {
    granular_scopes: [
      { access: 'user', permissions: manage },
      { access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code', 'push_code'] },
    ],
  })
  const headers = patHeader(manager.token!)
  const post = (granular_scopes: unknown) =>
    ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers, payload: { name: 'child', expires_at: inDays(5), granular_scopes } })

  const narrower = await post([{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }])
  t.equal(narrower.statusCode, 201, 'a project below its group, with a permission it holds')
  const wider = await post([{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code'] }])
  t.equal(wider.statusCode, 403, 'the parent group is outside its reach')
  t.equal(wider.json().code, 'broader_than_caller')
  const morePermissions = await post([{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['create_merge_request'] }])
  t.equal(morePermissions.statusCode, 403)
  t.match(morePermissions.json().detail, /create_merge_request/)
  const everywhere = await post([{ access: 'all_memberships', permissions: ['read_code'] }])
  t.equal(everywhere.statusCode, 403)
  const legacy = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers, payload: { name: 'l', expires_at: inDays(5), scopes: ['read_repository'] } })
  t.equal(legacy.statusCode, 403, 'a fine-grained token cannot mint a legacy one')

  const list = await ctx.app.inject({ url: '/api/v4/personal_access_tokens', headers })
  t.equal(list.statusCode, 200)
  t.equal(list.json().length, 2)
  const child = narrower.json()
  const edit = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${child.id}`, headers, payload: { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] } })
  t.equal(edit.statusCode, 403, 'editing cannot widen beyond the caller either')
  const revoke = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${child.id}`, headers })
  t.equal(revoke.statusCode, 204)

  const readOnly = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_personal_access_token'] }] })
  const denied = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${manager.id}`, headers: patHeader(readOnly.token!) })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().code, 'insufficient_scope')
  const noCreate = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: patHeader(readOnly.token!), payload: { name: 'x', expires_at: inDays(2), granular_scopes: [{ access: 'user', permissions: ['read_user'] }] } })
  t.equal(noCreate.statusCode, 403)
  const directory = await ctx.app.inject({ method: 'PUT', url: '/api/v4/directory/users/50', headers, payload: { username: 'x', name: 'x', email: 'x@example.com' } })
  t.equal(directory.statusCode, 403, 'PATs never reach service endpoints')
  t.equal(directory.json().code, 'jwt_required')
})

t.test('legacy callers: api may create anything; narrower scopes only what they hold', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const api = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'] })
  const viaApi = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: patHeader(api.token!), payload: { name: 'c', expires_at: inDays(3), granular_scopes: [{ access: 'all_memberships', permissions: ['push_code'] }] } })
  t.equal(viaApi.statusCode, 201)
  const rotateOnly = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['self_rotate'] })
  const rotated = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(rotateOnly.token!) })
  t.equal(rotated.statusCode, 200, 'self_rotate lets a token rotate itself')
  t.match(rotated.json().token, /^lgpat-/)
  const cannotCreate = await ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: patHeader(rotated.json().token), payload: { name: 'c', expires_at: inDays(3), scopes: ['api'] } })
  t.equal(cannotCreate.statusCode, 403)
})

t.test('expiry is a date: the token stops at 00:00 UTC that day', async (t) => {
  const clock = manualClock(new Date('2030-03-10T12:00:00Z'))
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { expires_at: '2030-03-12' })
  const self = () => ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })
  clock.set('2030-03-11T23:59:59Z')
  t.equal((await self()).statusCode, 200)
  clock.set('2030-03-12T00:00:00Z')
  const expired = await self()
  t.equal(expired.statusCode, 401)
  t.equal(expired.json().code, 'token_expired')
  const shown = await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  t.match(shown.json(), { state: 'expired', active: false, revoked: false })
  const rotate = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotate.json().code, 'token_expired')
  const list = await ctx.app.inject({ url: '/api/v4/personal_access_tokens?state=inactive', headers: await asUser(ctx, ALICE) })
  t.equal(list.json().length, 1)
})

t.test('a blocked owner\'s token stops working', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/users/${ALICE}`, headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'alice', name: 'Alice', email: 'alice@example.com', state: 'blocked' },
  })
  const res = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'user_inactive')
  const jwt = await ctx.app.inject({ url: '/api/v4/personal_access_tokens', headers: await asUser(ctx, ALICE) })
  t.equal(jwt.statusCode, 403)
})
