// Group service accounts (issue 16): the owners of a top-level group create them and alone manage
// their tokens (and receive the secrets); the account itself has no interactive login and cannot
// issue tokens; nobody else — a member who is not an owner, another group's owner — finds any of it.
import t from 'tap'
import { loadNotificationContext } from '../../../src/jobs/mail-context.js'
import { withJobTables } from '../../../src/jobs/tables.js'
import type { TestContext } from '../../helpers/app.js'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, inDays, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'

type Tap = Parameters<typeof build>[0]
const accounts = (group: number, rest = '') => `/api/v4/groups/${group}/service_accounts${rest}`
const readCli = [{ access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code'] }]
const project = (id: number) => ({ type: 'project', id })

/** The standard directory (Bob owns opensource, Alice is a reporter there), with Carol as owner of acme. */
async function setUp(t: Tap, env: Record<string, string> = {}) {
  const ctx = await build(t, { env })
  await seedDirectory(ctx)
  const res = await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/namespaces/${ACME}/members/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload: { access_level: 50 },
  })
  if (res.statusCode >= 300) throw new Error(res.body)
  return ctx
}

async function as(ctx: TestContext, who: number, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  return ctx.app.inject({ method, url, headers: await asUser(ctx, who), ...(payload === undefined ? {} : { payload: payload as object }) })
}

async function newAccount(ctx: TestContext, body: unknown = { name: 'CI bot' }) {
  const res = await as(ctx, BOB, 'POST', accounts(OPENSOURCE), body)
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as { id: number; username: string; name: string; email: string; access_level: number; group_id: number; kind: string }
}

async function newToken(ctx: TestContext, accountId: number, body: Record<string, unknown> = {}) {
  const res = await as(ctx, BOB, 'POST', accounts(OPENSOURCE, `/${accountId}/personal_access_tokens`), { name: 'deploy', expires_at: inDays(30), granular_scopes: readCli, ...body })
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as TokenJson
}

t.test('a group owner creates an account and its token; the token works on the group\'s project and nowhere else', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const account = await newAccount(ctx)
  t.match(account, { name: 'CI bot', kind: 'service_account', group_id: OPENSOURCE, access_level: 30 })
  t.match(account.username, /^service_account_group_200_[0-9a-f]{32}$/, 'GitLab\'s generated username')
  t.ok(account.id >= 9_000_000_000_000_000, 'an id from the range the directory cannot write')

  const token = await newToken(ctx, account.id)
  t.equal(token.user_id, account.id)
  t.ok(token.token, 'the owner receives the secret')
  t.match(await authorize(token.token!, 'read_code', project(CLI_PROJECT)), { allowed: true, token: { id: token.id, user_id: account.id } })
  t.match(await authorize(token.token!, 'read_code', project(API_PROJECT)), { allowed: false, reason: 'resource_not_in_scope' }, 'outside the group')
  t.match(await authorize(token.token!, 'push_code', project(CLI_PROJECT)), { allowed: false, reason: 'permission_not_granted' })

  const event = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.created').where('target_id', '=', String(token.id)).executeTakeFirstOrThrow()
  t.match(event, { actor_type: 'user', actor_id: String(BOB), namespace_id: OPENSOURCE }, 'the audit event names the acting owner')
  const created = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'service_account.created').executeTakeFirstOrThrow()
  t.match(created, { actor_id: String(BOB), target_id: String(account.id), namespace_id: OPENSOURCE })

  // Mail about the account's tokens goes to the group's owners, not to the account's address.
  const mail = await loadNotificationContext(withJobTables(ctx.app.db), ctx.config, event)
  t.ok(mail.ok)
  if (mail.ok) t.equal(mail.context.owner.email, 'bob@example.com')

  const list = await as(ctx, BOB, 'GET', accounts(OPENSOURCE))
  t.equal(list.statusCode, 200)
  t.same(list.json().map((a: { id: number }) => a.id), [account.id])
  t.equal(list.headers['x-total'], '1')
  const tokens = await as(ctx, BOB, 'GET', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens`))
  t.same(tokens.json().map((x: TokenJson) => x.id), [token.id])
  t.notOk(tokens.json()[0].token, 'a list never repeats a secret')
})

t.test('a token\'s scopes stay inside the owning group (400 scope_outside_group)', async (t) => {
  const ctx = await setUp(t)
  const account = await newAccount(ctx)
  const cases: [string, unknown[], string][] = [
    ['a project of another group', [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }], 'body.granular_scopes[0].project_ids[0]'],
    ['another group', [{ access: 'selected_memberships', group_id: ACME, permissions: ['read_code'] }], 'body.granular_scopes[0].group_id'],
    ['every membership', [{ access: 'all_memberships', permissions: ['read_code'] }], 'body.granular_scopes[0].access'],
    ['the user boundary', [{ access: 'user', permissions: ['read_user'] }], 'body.granular_scopes[0].access'],
  ]
  for (const [what, granular_scopes, path] of cases) {
    const res = await as(ctx, BOB, 'POST', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens`), { name: 'x', granular_scopes })
    t.equal(res.statusCode, 400, what)
    t.match(res.json(), { code: 'scope_outside_group', errors: [{ path }] }, what)
  }
  t.equal((await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('user_id', '=', account.id).execute()).length, 0, 'nothing issued')
})

t.test('a member who is not an owner, and another group\'s owner, get 404 on all of it', async (t) => {
  const ctx = await setUp(t)
  const account = await newAccount(ctx)
  const token = await newToken(ctx, account.id)
  for (const [who, group] of [[ALICE, OPENSOURCE], [CAROL, OPENSOURCE], [CAROL, ACME]] as const) {
    const calls: ['GET' | 'POST' | 'DELETE', string, unknown?][] = [
      ['GET', accounts(group)],
      ['POST', accounts(group), { name: 'mine' }],
      ['GET', accounts(group, `/${account.id}`)],
      ['DELETE', accounts(group, `/${account.id}`)],
      ['GET', accounts(group, `/${account.id}/personal_access_tokens`)],
      ['POST', accounts(group, `/${account.id}/personal_access_tokens`), { name: 'x', granular_scopes: readCli }],
      ['POST', accounts(group, `/${account.id}/personal_access_tokens/${token.id}/rotate`), {}],
      ['DELETE', accounts(group, `/${account.id}/personal_access_tokens/${token.id}`)],
    ]
    for (const [method, url, payload] of calls) {
      const res = await as(ctx, who, method, url, payload)
      // Carol owns acme: creating an account there is hers to do; everything about Bob's account is 404.
      if (who === CAROL && group === ACME && url === accounts(ACME)) {
        t.equal(res.statusCode, method === 'POST' ? 201 : 200, `Carol ${method} in her own group`)
        if (method === 'GET') t.notOk(res.json().some((a: { id: number }) => a.id === account.id), 'without Bob\'s account')
        continue
      }
      t.equal(res.statusCode, 404, `${who} ${method} ${url}`)
      t.equal(res.json().code, 'not_found')
    }
  }
  // Nor through the ordinary token routes: the account's token is someone else's.
  t.equal((await as(ctx, CAROL, 'POST', `/api/v4/personal_access_tokens/${token.id}/rotate`, {})).statusCode, 404)
  t.equal((await as(ctx, BOB, 'POST', `/api/v4/personal_access_tokens/${token.id}/rotate`, {})).statusCode, 404, 'the ordinary route is not the owners\' way in')
  const still = await ctx.app.db.selectFrom('personal_access_tokens').select('revoked_at').where('id', '=', token.id).executeTakeFirstOrThrow()
  t.equal(still.revoked_at, null, 'nothing changed')
})

t.test('the service account itself cannot sign in, use a user JWT, or issue tokens', async (t) => {
  const ctx = await setUp(t, { CONSOLE_DEV_SIGN_IN: 'true' })
  const account = await newAccount(ctx)
  const token = await newToken(ctx, account.id)

  const jwt = await ctx.app.inject({ method: 'GET', url: '/api/v4/personal_access_tokens', headers: await asUser(ctx, account.id) })
  t.equal(jwt.statusCode, 403)
  t.equal(jwt.json().code, 'service_account_no_login')

  const users = await ctx.app.inject({ method: 'GET', url: '/api/v4/dev/users' })
  t.notOk(users.json().some((u: { id: number }) => u.id === account.id), 'not offered in the console sign-in')
  const session = await ctx.app.inject({ method: 'POST', url: '/api/v4/dev/session', payload: { user_id: account.id } })
  t.equal(session.statusCode, 403)
  t.equal(session.json().code, 'service_account_no_login')

  const pat = patHeader(token.token!)
  const attempts: [string, string, unknown][] = [
    ['POST', '/api/v4/user/personal_access_tokens', { name: 'mine', granular_scopes: readCli }],
    ['POST', `/api/v4/users/${account.id}/personal_access_tokens`, { name: 'mine', granular_scopes: readCli }],
    ['POST', '/api/v4/personal_access_tokens/self/rotate', {}],
    ['POST', `/api/v4/personal_access_tokens/${token.id}/rotate`, {}],
    ['POST', `/api/v4/personal_access_tokens/${token.id}/duplicate`, {}],
  ]
  for (const [method, url, payload] of attempts) {
    const res = await ctx.app.inject({ method: method as 'POST', url, headers: pat, payload: payload as object })
    t.equal(res.statusCode, 403, url)
    t.equal(res.json().code, 'service_account_tokens_managed_by_group', url)
  }
  t.equal((await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('user_id', '=', account.id).execute()).length, 1, 'still only the owner\'s token')
  // Its own token may still read itself (automation checks its expiry).
  t.equal((await ctx.app.inject({ method: 'GET', url: '/api/v4/personal_access_tokens/self', headers: pat })).statusCode, 200)
})

t.test('the owner rotates and revokes the account\'s tokens', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const account = await newAccount(ctx)
  const token = await newToken(ctx, account.id)

  const rotated = await as(ctx, BOB, 'POST', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens/${token.id}/rotate`), {})
  t.equal(rotated.statusCode, 200, rotated.body)
  const successor = rotated.json() as TokenJson
  t.match(successor, { user_id: account.id, previous_personal_access_token_id: token.id, name: 'deploy' })
  t.ok(successor.token)
  // (The old secret is not presented: presenting a rotated-away secret is reuse, which revokes the chain.)
  t.match(await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow(), { revoke_reason: 'rotated', revoked_by: `user:${BOB}` })
  t.equal((await authorize(successor.token!, 'read_code', project(CLI_PROJECT))).allowed, true)
  const rotatedEvent = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.rotated').executeTakeFirstOrThrow()
  t.match(rotatedEvent, { actor_type: 'user', actor_id: String(BOB), target_id: String(successor.id) })

  const again = await as(ctx, BOB, 'POST', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens/${token.id}/rotate`), {})
  t.equal(again.statusCode, 409, 'a retry is answered, not a second successor')
  t.equal(again.json().code, 'already_rotated')

  const revoked = await as(ctx, BOB, 'DELETE', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens/${successor.id}`))
  t.equal(revoked.statusCode, 204)
  t.equal((await authorize(successor.token!, 'read_code', project(CLI_PROJECT))).reason, 'token_revoked')
  const row = await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', successor.id).executeTakeFirstOrThrow()
  t.match(row, { revoke_reason: 'group_owner', revoked_by: `user:${BOB}` })
  t.equal((await as(ctx, BOB, 'DELETE', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens/${successor.id}`))).statusCode, 204, 'twice is a no-op')
  t.equal((await as(ctx, BOB, 'GET', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens?state=active`))).json().length, 0)

  // A token of a person is not the account's: 404 through the account's routes.
  const bobs = await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('user_id', '=', BOB).execute()
  t.equal(bobs.length, 0)
  t.equal((await as(ctx, BOB, 'DELETE', accounts(OPENSOURCE, `/${ALICE}`))).statusCode, 404, 'a person is not a service account')
})

t.test('listed in the group inventory as a service account; deleting the account revokes its tokens', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const account = await newAccount(ctx)
  const token = await newToken(ctx, account.id)
  const persons = await createToken(ctx, ALICE, { name: 'alice on cli', granular_scopes: readCli })
  const inventory = await as(ctx, BOB, 'GET', `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens`)
  t.equal(inventory.statusCode, 200)
  t.match(inventory.json().find((r: TokenJson) => r.id === token.id), { user_id: account.id, owner_kind: 'service_account', reach: 'direct' })
  const admin = await as(ctx, ADMIN, 'GET', '/api/v4/admin/personal_access_tokens')
  t.match(admin.json().find((r: TokenJson) => r.id === token.id), { owner_kind: 'service_account' })
  // The CSV export carries it too, in its last column (appended: positions of the others unchanged).
  const exported = await ctx.app.inject({ method: 'GET', url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens`, headers: { ...(await asUser(ctx, BOB)), accept: 'text/csv' } })
  t.equal(exported.statusCode, 200)
  const [head, ...lines] = exported.body.trim().split('\n').map((l) => l.split(','))
  t.equal(head.at(-1), 'owner_kind', 'owner_kind is the last column')
  t.equal(head.indexOf('token_hint'), 12, 'the earlier columns keep their places')
  const kindOf = (id: number) => lines.find((l) => l[0] === String(id))?.at(-1)
  t.equal(kindOf(token.id), 'service_account', "the service account's token")
  t.equal(kindOf(persons.id), 'human', "a person's token")

  t.equal((await as(ctx, BOB, 'DELETE', accounts(OPENSOURCE, `/${account.id}`))).statusCode, 204)
  t.equal((await authorize(token.token!, 'read_code', project(CLI_PROJECT))).allowed, false)
  t.match(await ctx.app.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow(), { revoke_reason: 'service_account_deleted' })
  t.match((await as(ctx, BOB, 'GET', accounts(OPENSOURCE, `/${account.id}`))).json(), { state: 'deactivated', access_level: null })
  const refused = await as(ctx, BOB, 'POST', accounts(OPENSOURCE, `/${account.id}/personal_access_tokens`), { name: 'x', granular_scopes: readCli })
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().code, 'user_inactive')
})

t.test('creation: top-level groups only, usernames unique, bad input explained', async (t) => {
  const ctx = await setUp(t)
  const sub = await as(ctx, ADMIN, 'POST', accounts(PLATFORM), {})
  t.equal(sub.statusCode, 400)
  t.equal(sub.json().code, 'top_level_group_required')
  const named = await newAccount(ctx, { username: 'release-bot', access_level: 20 })
  t.match(named, { username: 'release-bot', name: 'Service account user', access_level: 20 })
  const taken = await as(ctx, BOB, 'POST', accounts(OPENSOURCE), { username: 'alice' })
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().code, 'username_taken')
  const owner = await as(ctx, BOB, 'POST', accounts(OPENSOURCE), { access_level: 50 })
  t.equal(owner.statusCode, 400, 'never an owner of its group')
  const admin = await as(ctx, ADMIN, 'POST', accounts(OPENSOURCE), null)
  t.equal(admin.statusCode, 201, 'administrators may; an empty body takes the defaults')
})

t.test('the directory syncs service accounts (kind and owning top-level group)', async (t) => {
  const ctx = await setUp(t)
  const headers = { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }
  const put = (id: number, body: Record<string, unknown>) => ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/users/${id}`, headers, payload: { username: `sa${id}`, name: 'Synced bot', email: `sa${id}@example.com`, ...body },
  })
  const ok = await put(50, { kind: 'service_account', service_account_group_id: OPENSOURCE })
  t.equal(ok.statusCode, 200, ok.body)
  t.match(ok.json(), { kind: 'service_account', service_account_group_id: OPENSOURCE })
  t.match((await as(ctx, BOB, 'GET', accounts(OPENSOURCE, '/50'))).json(), { id: 50, kind: 'service_account', access_level: null })
  t.equal((await ctx.app.inject({ method: 'GET', url: '/api/v4/personal_access_tokens', headers: await asUser(ctx, 50) })).json().code, 'service_account_no_login')

  for (const [what, id, body, path] of [
    ['a subgroup', 51, { kind: 'service_account', service_account_group_id: PLATFORM }, 'body.service_account_group_id'],
    ['no group', 52, { kind: 'service_account' }, 'body.service_account_group_id'],
    ['a group for a person', 53, { service_account_group_id: OPENSOURCE }, 'body.service_account_group_id'],
    ['an id of the API-created range', 9_000_000_000_000_001, {}, 'params.id'],
  ] as const) {
    const res = await put(id, body)
    t.equal(res.statusCode, 400, what)
    t.match(res.json(), { code: 'invalid_user', errors: [{ path }] }, what)
  }
  const bulk = await ctx.app.inject({
    method: 'POST', url: '/api/v4/directory/bulk', headers,
    payload: {
      users: [{ id: 60, username: 'newbot', name: 'n', email: 'n@example.com', kind: 'service_account', service_account_group_id: 700 }],
      namespaces: [{ id: 700, kind: 'group', path: 'newgroup' }],
    },
  })
  t.equal(bulk.statusCode, 200, `a group from the same load: ${bulk.body}`)
  const bad = await ctx.app.inject({
    method: 'POST', url: '/api/v4/directory/bulk', headers,
    payload: { users: [{ id: 61, username: 'badbot', name: 'n', email: 'b@example.com', kind: 'service_account', service_account_group_id: API_PROJECT }] },
  })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'invalid_user', errors: [{ path: 'body.users[0].service_account_group_id' }] })
})
