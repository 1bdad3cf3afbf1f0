// Group owners revoke, or remove their group's access from a token (it keeps working elsewhere);
// they never rotate a token of someone else (which would hand them its new secret).
import t from 'tap'
import type { TestContext } from '../../helpers/app.js'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import {
  ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, INFRA, OPENSOURCE, PLATFORM, seedDirectory, TERRAFORM, WEBSITE,
} from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { putGroup } from './helpers.js'

const project = (id: number) => ({ type: 'project', id })
const manage = (group: number, token: number, action = '') => `/api/v4/groups/${group}/manage/personal_access_tokens/${token}${action}`
const broadScopes = (permissions = ['read_code', 'read_issue']) => [{ access: 'all_memberships', permissions }]

/** The standard directory, with Carol as owner of the subgroup acme/platform. */
async function setUp(t: Tap) {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const res = await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/namespaces/${PLATFORM}/members/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload: { access_level: 50 },
  })
  if (res.statusCode >= 300) throw new Error(res.body)
  return ctx
}
type Tap = Parameters<typeof build>[0]

async function removeAccess(ctx: TestContext, who: number, group: number, token: number, payload: unknown = { reason: 'left the platform team' }) {
  return ctx.app.inject({ method: 'POST', url: manage(group, token, '/remove_access'), headers: await asUser(ctx, who), payload: payload as object })
}

async function events(ctx: TestContext, action: string) {
  return ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute()
}

t.test('removing a group\'s access: that group and below deny with access_removed_by_group, everything else as before', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const broad = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  t.equal((await putGroup(ctx, ACME, { blocked_permissions: ['read_issue'] })).statusCode, 200)
  const secret = broad.token!
  for (const id of [API_PROJECT, TERRAFORM, WEBSITE, CLI_PROJECT]) {
    for (let i = 0; i < 3; i++) t.equal((await authorize(secret, 'read_code', project(id))).allowed, true, `allowed on ${id} before (cached)`)
  }

  const removed = await removeAccess(ctx, CAROL, PLATFORM, broad.id)
  t.equal(removed.statusCode, 201, removed.body)
  const removal = removed.json()
  t.match(removal, { group_id: PLATFORM, full_path: 'acme/platform', removed_by: { type: 'user', id: String(CAROL), username: 'carol' }, reason: 'left the platform team' })
  t.ok(Date.parse(removal.removed_at))

  // The very next decisions, on the same instance whose L1 held the allows.
  for (const [what, resource] of [['a project below', project(API_PROJECT)], ['a project two levels below', project(TERRAFORM)], ['the group itself', { type: 'group', id: PLATFORM }], ['a subgroup', { type: 'group', id: INFRA }], ['the project by path', { type: 'project', path: 'acme/platform/api' }]] as const) {
    const d = await authorize(secret, what.includes('group') ? 'read_group' : 'read_code', resource)
    t.match(d, { allowed: false, reason: 'access_removed_by_group', token: { id: broad.id } }, what)
  }
  t.equal((await authorize(secret, 'read_issue', project(API_PROJECT))).reason, 'access_removed_by_group', 'before the group policy that would also deny')
  t.equal((await authorize(secret, 'create_merge_request', project(API_PROJECT))).reason, 'access_removed_by_group', 'before a permission the token lacks')
  t.equal((await authorize(secret, 'read_code', { type: 'project', path: 'acme/platform/nothing' })).reason, 'resource_not_found', 'after an unknown resource')
  t.equal((await authorize(secret, 'read_code', project(WEBSITE))).allowed, true, 'the parent group outside the subgroup: allowed')
  t.equal((await authorize(secret, 'read_issue', project(WEBSITE))).reason, 'permission_blocked_by_policy', 'and its policy still applies there')
  t.equal((await authorize(secret, 'read_code', project(CLI_PROJECT))).allowed, true, 'another group: allowed')
  const batch = await ctx.app.inject({
    method: 'POST', url: '/api/v4/authorize/batch', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` },
    payload: { token: secret, checks: [{ permission: 'read_code', resource: project(API_PROJECT) }, { permission: 'read_code', resource: project(CLI_PROJECT) }] },
  })
  t.same(batch.json().results.map((d: { reason: string }) => d.reason), ['access_removed_by_group', 'allowed'], 'batch')
  const introspect = await ctx.app.inject({
    method: 'POST', url: '/oauth/introspect', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }, payload: { token: secret },
  })
  t.equal(introspect.json().active, true, 'introspection: the token itself is still active')
  const associations = (await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self/associations?per_page=100', headers: { 'private-token': secret } })).json()
  const paths = (list: { full_path: string }[]) => list.map((n) => n.full_path).sort()
  t.same(paths(associations.groups), ['acme', 'opensource'], 'associations: the group and its subgroups are gone')
  t.same(paths(associations.projects), ['acme/website', 'opensource/cli'], 'associations: and the projects below them')

  // Idempotent: the same removal again, no second event.
  const again = await removeAccess(ctx, CAROL, PLATFORM, broad.id, { reason: 'another reason' })
  t.equal(again.statusCode, 200)
  t.same(again.json(), removal, 'the first removal, unchanged')
  t.same((await removeAccess(ctx, ADMIN, PLATFORM, broad.id, null)).json(), removal, 'whoever asks again')
  const audited = await events(ctx, 'token.group_access_removed')
  t.equal(audited.length, 1, 'one audit event')
  t.match(audited[0], { namespace_id: PLATFORM, actor_type: 'user', actor_id: String(CAROL), target_id: String(broad.id) })
  t.match(audited[0].details, { group_id: PLATFORM, full_path: 'acme/platform', reason: 'left the platform team', user_id: ALICE, token_hint: broad.token_hint })

  // The token's detail (its owner) and the inventory rows show it; another group's inventory does not.
  const detail = await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${broad.id}`, headers: await asUser(ctx, ALICE) })
  t.same(detail.json().group_access_removals, [removal], 'on the token\'s detail')
  const row = async (who: number, url: string) => ((await ctx.app.inject({ url, headers: await asUser(ctx, who) })).json() as TokenJson[]).find((r) => r.id === broad.id) as TokenJson & { group_access_removals: unknown[] }
  t.same((await row(CAROL, `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens`)).group_access_removals, [removal], 'in the group\'s inventory')
  t.same((await row(ADMIN, `/api/v4/groups/${ACME}/manage/personal_access_tokens`)).group_access_removals, [removal], 'in the parent group\'s inventory')
  t.same((await row(ADMIN, '/api/v4/admin/personal_access_tokens')).group_access_removals, [removal], 'in the instance inventory')
  t.same((await row(BOB, `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens`)).group_access_removals, [], 'not another group\'s business')

  // A removal on another group adds to it.
  t.equal((await removeAccess(ctx, BOB, OPENSOURCE, broad.id, {})).statusCode, 201)
  t.equal((await authorize(secret, 'read_code', project(CLI_PROJECT))).reason, 'access_removed_by_group')
  t.equal((await authorize(secret, 'read_code', project(WEBSITE))).allowed, true, 'still working in acme outside platform')

  // Restoring takes the removal back at once; again: nothing happens.
  const restore = async (who: number, group: number) => ctx.app.inject({ method: 'DELETE', url: manage(group, broad.id, '/remove_access'), headers: await asUser(ctx, who) })
  t.equal((await restore(CAROL, PLATFORM)).statusCode, 204)
  t.equal((await authorize(secret, 'read_code', project(API_PROJECT))).allowed, true, 'allowed again right after the restore')
  t.equal((await restore(CAROL, PLATFORM)).statusCode, 204, 'restoring twice is a no-op')
  t.equal((await events(ctx, 'token.group_access_restored')).length, 1, 'one restore event')
  t.match((await events(ctx, 'token.group_access_restored'))[0], { namespace_id: PLATFORM, actor_id: String(CAROL) })
  t.equal((await authorize(secret, 'read_code', project(CLI_PROJECT))).reason, 'access_removed_by_group', 'the other group\'s removal stays')
})

t.test('who may remove: owners of the group (or above) and administrators; to anyone else it does not exist', async (t) => {
  const ctx = await setUp(t)
  const broad = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  const onApi = await createToken(ctx, ALICE) // read_code on acme/platform/api only
  const bobs = await createToken(ctx, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code'] }] })

  const refusals: [string, number, number, number][] = [
    ['the token\'s owner, a developer of acme', ALICE, PLATFORM, broad.id],
    ['the token\'s owner on a group she is a member of', ALICE, OPENSOURCE, broad.id],
    ['a reporter of acme/platform (owner of another group)', BOB, PLATFORM, broad.id],
    ['the owner of a subgroup, on its parent', CAROL, ACME, broad.id],
    ['a group owner, on a token that does not reach the group', BOB, OPENSOURCE, onApi.id],
    ['a group owner, on a token that does not exist', BOB, OPENSOURCE, 987654],
    ['an owner, on a group that does not exist', BOB, 987654, broad.id],
    ['a group owner, on a project id', CAROL, API_PROJECT, broad.id],
  ]
  for (const [who, user, group, token] of refusals) {
    const res = await removeAccess(ctx, user, group, token)
    t.equal(res.statusCode, 404, `${who}: 404`)
    t.match(res.json(), { code: 'not_found' })
    t.notOk(res.body.includes('acme/platform'), 'nothing about the group or token')
    const restore = await ctx.app.inject({ method: 'DELETE', url: manage(group, token, '/remove_access'), headers: await asUser(ctx, user) })
    t.equal(restore.statusCode, 404, `${who}: restore 404 too`)
  }
  t.equal((await removeAccess(ctx, CAROL, PLATFORM, bobs.id)).statusCode, 404, 'Bob\'s token on opensource only: not platform\'s')
  t.equal((await ctx.app.inject({ method: 'POST', url: manage(PLATFORM, broad.id, '/remove_access'), payload: {} })).statusCode, 401)
  t.equal(await ctx.app.db.selectFrom('group_access_removals').select('token_id').execute().then((r) => r.length), 0, 'nothing was written')

  // Bad input: 400 naming the field, nothing written.
  for (const [what, payload, path] of [
    ['a reason too long', { reason: 'x'.repeat(501) }, 'body.reason'],
    ['a NUL in the reason', { reason: 'a\u0000b' }, 'body.reason'],
    ['an unknown field', { reasn: 'typo' }, 'body'],
    ['a reason that is not text', { reason: 42 }, 'body.reason'],
  ] as const) {
    const res = await removeAccess(ctx, CAROL, PLATFORM, broad.id, payload)
    t.equal(res.statusCode, 400, what)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.ok((res.json().errors as { path: string }[]).some((e) => e.path.startsWith(path)), `${what}: names ${path} (${res.body})`)
  }
  t.equal(await ctx.app.db.selectFrom('group_access_removals').select('token_id').execute().then((r) => r.length), 0)

  // An owner of the top-level group may act on its subgroup; administrators anywhere.
  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/namespaces/${ACME}/members/${BOB}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload: { access_level: 50 },
  })
  t.equal((await removeAccess(ctx, BOB, PLATFORM, onApi.id)).statusCode, 201, 'owner of acme, on acme/platform')
  t.equal((await removeAccess(ctx, ADMIN, ACME, onApi.id)).statusCode, 201, 'an administrator')

  // A PAT acting for a group owner needs the group permission, and a token cut off from the group cannot manage it.
  const carolsPat = await createToken(ctx, CAROL, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_group_access_token'] }] })
  const withPat = await ctx.app.inject({ method: 'POST', url: manage(PLATFORM, broad.id, '/remove_access'), headers: { 'private-token': carolsPat.token! }, payload: {} })
  t.equal(withPat.statusCode, 403)
  t.equal(withPat.json().code, 'insufficient_scope')
  t.match(withPat.json().detail, 'revoke_group_access_token')
  const revokeWithPat = await ctx.app.inject({ method: 'DELETE', url: manage(PLATFORM, broad.id), headers: { 'private-token': carolsPat.token! } })
  t.equal(revokeWithPat.statusCode, 403, 'a read-only group token cannot revoke either')
  t.equal(revokeWithPat.json().code, 'insufficient_scope')
  t.equal((await ctx.app.db.selectFrom('personal_access_tokens').select('revoked_at').where('id', '=', broad.id).executeTakeFirstOrThrow()).revoked_at, null, 'nothing revoked')
  const manager = await createToken(ctx, CAROL, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_group_access_token', 'revoke_group_access_token'] }] })
  const byPat = await ctx.app.inject({ method: 'POST', url: manage(PLATFORM, broad.id, '/remove_access'), headers: { 'private-token': manager.token! }, payload: {} })
  t.equal(byPat.statusCode, 201)
  t.match(byPat.json(), { removed_by: { type: 'token', id: String(manager.id), username: 'carol' }, reason: null }, 'the token, and the person behind it')
  t.equal((await removeAccess(ctx, CAROL, PLATFORM, manager.id)).statusCode, 201, 'Carol removes her own token\'s access')
  const cutOff = await ctx.app.inject({ url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens`, headers: { 'private-token': manager.token! } })
  t.equal(cutOff.statusCode, 403)
  t.equal(cutOff.json().code, 'access_removed_by_group')

  // Revoked or rotated tokens have no access left to remove.
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${bobs.id}`, headers: await asUser(ctx, BOB) })
  const revoked = await removeAccess(ctx, BOB, OPENSOURCE, bobs.id)
  t.equal(revoked.statusCode, 400)
  t.equal(revoked.json().code, 'token_revoked')
  const rotating = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotating.id}/rotate`, headers: await asUser(ctx, ALICE) })
  const rotated = await removeAccess(ctx, CAROL, PLATFORM, rotating.id)
  t.equal(rotated.json().code, 'token_revoked')
  t.match(rotated.json().detail, 'remove the access of its successor')
})

t.test('concurrent removals of the same access: one removal, one event, one mail-worthy change', async (t) => {
  const ctx = await setUp(t)
  const broad = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => removeAccess(ctx, i % 2 ? CAROL : ADMIN, PLATFORM, broad.id, { reason: `try ${i}` })))
  t.same(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 201])
  t.equal(new Set(answers.map((a) => a.body)).size, 1, 'every caller is told about the same removal')
  t.equal((await events(ctx, 'token.group_access_removed')).length, 1)
  const { version } = await ctx.app.db.selectFrom('personal_access_tokens').select('version').where('id', '=', broad.id).executeTakeFirstOrThrow()
  t.equal(version, 2, 'the token\'s version moved once')
})

t.test('a rotation successor and a duplicate keep the removal; a new token does not', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const broad = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  const removal = (await removeAccess(ctx, CAROL, PLATFORM, broad.id)).json()
  const rotate = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${broad.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotate.statusCode, 200)
  const successor = rotate.json()
  t.same(successor.group_access_removals, [removal], 'the rotation\'s answer shows it')
  t.equal((await authorize(successor.token, 'read_code', project(API_PROJECT))).reason, 'access_removed_by_group', 'successor denied in the group')
  t.equal((await authorize(successor.token, 'read_code', project(CLI_PROJECT))).allowed, true, 'and allowed elsewhere')
  const again = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${successor.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal((await authorize(again.json().token, 'read_code', project(TERRAFORM))).reason, 'access_removed_by_group', 'down the whole chain')

  const copy = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${again.json().id}/duplicate`, headers: await asUser(ctx, ALICE), payload: { name: 'copy' } })
  t.equal(copy.statusCode, 201, copy.body)
  t.same(copy.json().group_access_removals, [removal])
  t.equal((await authorize(copy.json().token, 'read_code', project(API_PROJECT))).reason, 'access_removed_by_group', 'a duplicate keeps it')

  const fresh = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  t.same((fresh as TokenJson & { group_access_removals: unknown[] }).group_access_removals, [])
  t.equal((await authorize(fresh.token!, 'read_code', project(API_PROJECT))).allowed, true, 'a brand-new token is a new decision for the group owners')
  t.equal((await events(ctx, 'token.group_access_removed')).length, 1, 'carried over, not removed again')
})

t.test('a group owner\'s rotate is refused: nothing changes, no secret, same answer for any token', async (t) => {
  const ctx = await setUp(t)
  const broad = await createToken(ctx, ALICE, { granular_scopes: broadScopes() })
  const before = await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', broad.id).executeTakeFirstOrThrow()
  const eventsBefore = await ctx.app.db.selectFrom('audit_events').select('id').execute()
  const answers = []
  for (const [who, group, token, payload] of [
    [BOB, OPENSOURCE, broad.id, undefined], [BOB, OPENSOURCE, broad.id, { expires_at: '2030-01-01' }], [CAROL, PLATFORM, broad.id, null],
    [ADMIN, ACME, broad.id, undefined], [BOB, OPENSOURCE, 987654, undefined], [CAROL, 987654, broad.id, undefined], [ALICE, ACME, broad.id, undefined],
  ] as const) {
    const res = await ctx.app.inject({ method: 'POST', url: manage(group, token, '/rotate'), headers: await asUser(ctx, who), payload: payload as object })
    t.equal(res.statusCode, 403, `user ${who}, group ${group}, token ${token}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.json().code, 'group_owner_cannot_rotate')
    t.notOk('token' in res.json())
    t.notOk(/fgpat-[A-Za-z0-9]{20}/.test(res.body), 'no secret anywhere in the answer')
    answers.push(res.json().detail.replaceAll(String(group), 'G').replaceAll(String(token), 'T'))
  }
  t.equal(new Set(answers).size, 1, 'the same explanation whoever asks, whether or not group and token exist')
  t.match(answers[0], /revoke the token.*remove_access.*owner rotates it/s, 'it says what to do instead')
  t.same(await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', broad.id).executeTakeFirstOrThrow(), before, 'the token is unchanged')
  t.equal((await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('user_id', '=', ALICE).execute()).length, 1, 'no token was issued')
  t.equal((await ctx.app.db.selectFrom('audit_events').select('id').execute()).length, eventsBefore.length, 'nothing was recorded')

  // Administrators rotate through the token API, as on GitLab: they get the secret, and it is audited.
  const byAdmin = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${broad.id}/rotate`, headers: await asUser(ctx, ADMIN) })
  t.equal(byAdmin.statusCode, 200)
  t.match(byAdmin.json().token, /^fgpat-/)
  t.match((await events(ctx, 'token.rotated'))[0], { actor_type: 'user', actor_id: String(ADMIN), target_id: String(byAdmin.json().id) })
})
