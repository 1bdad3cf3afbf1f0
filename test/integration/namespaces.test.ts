// GET /user, /groups, /projects (and one by id): what a user can see is what their memberships
// reach (inherited down the tree) plus their personal projects; administrators see everything;
// anything else is 404. Token callers need read_user / read_personal_access_token.
import t from 'tap'
import { build } from '../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, DOTFILES, INFRA, OPENSOURCE, PLATFORM, seedDirectory, TERRAFORM, WEBSITE } from '../helpers/fixtures.js'
import { createToken, patHeader } from '../helpers/tokens.js'

t.test('groups, projects and the current user', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const get = async (url: string, headers: Record<string, string>) => ctx.app.inject({ method: 'GET', url, headers })
  const ids = (body: string) => (JSON.parse(body) as Array<{ id: number }>).map((n) => n.id)

  t.test('GET /user is the caller', async (t) => {
    const res = await get('/api/v4/user', await asUser(ctx, ALICE))
    t.equal(res.statusCode, 200)
    t.same(res.json(), { id: ALICE, username: 'alice', name: 'Alice', email: 'alice@example.com', state: 'active', is_admin: false })
    const service = await get('/api/v4/user', { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` })
    t.equal(service.statusCode, 403)
    t.equal(service.json().code, 'user_required')
  })

  t.test('a user sees the groups their memberships reach, inherited down, and no others', async (t) => {
    const alice = await get('/api/v4/groups', await asUser(ctx, ALICE))
    t.equal(alice.statusCode, 200)
    t.same(ids(alice.body).sort(), [ACME, PLATFORM, INFRA, OPENSOURCE].sort())
    t.equal(alice.headers['x-total'], '4')
    const platform = alice.json().find((g: { id: number }) => g.id === PLATFORM)
    t.match(platform, { full_path: 'acme/platform', parent_id: ACME, access_level: 30 })
    const bob = await get('/api/v4/groups', await asUser(ctx, BOB))
    t.same(ids(bob.body).sort(), [PLATFORM, INFRA, OPENSOURCE].sort(), 'a membership below acme does not show acme')
    const carol = await get('/api/v4/groups', await asUser(ctx, CAROL))
    t.same(ids(carol.body), [])
  })

  t.test('projects include personal ones; search and min_access_level filter; pagination headers', async (t) => {
    const all = await get('/api/v4/projects?per_page=100', await asUser(ctx, ALICE))
    t.same(ids(all.body).sort(), [API_PROJECT, WEBSITE, TERRAFORM, CLI_PROJECT, DOTFILES].sort())
    const api = all.json().find((p: { id: number }) => p.id === API_PROJECT)
    t.match(api, { path_with_namespace: 'acme/platform/api', access_level: 40, namespace: { id: PLATFORM, full_path: 'acme/platform', kind: 'group' } })
    const searched = await get('/api/v4/projects?search=terra', await asUser(ctx, ALICE))
    t.same(ids(searched.body), [TERRAFORM])
    const literal = await get('/api/v4/projects?search=%25', await asUser(ctx, ALICE))
    t.same(ids(literal.body), [], 'a % in the search is a character, not a wildcard')
    const maintained = await get('/api/v4/projects?min_access_level=40', await asUser(ctx, ALICE))
    t.same(ids(maintained.body).sort(), [API_PROJECT, DOTFILES].sort())
    const paged = await get('/api/v4/projects?per_page=2&page=2', await asUser(ctx, ALICE))
    t.equal(paged.headers['x-total'], '5')
    t.equal(paged.headers['x-page'], '2')
    t.equal(ids(paged.body).length, 2)
  })

  t.test('one by id: visible, or 404 (no existence leak); an administrator sees all', async (t) => {
    const seen = await get(`/api/v4/groups/${PLATFORM}`, await asUser(ctx, ALICE))
    t.equal(seen.statusCode, 200)
    t.equal(seen.json().full_name.split(' / ').length, 2)
    const hidden = await get(`/api/v4/projects/${DOTFILES}`, await asUser(ctx, BOB))
    t.equal(hidden.statusCode, 404)
    const missing = await get('/api/v4/projects/999999', await asUser(ctx, BOB))
    t.equal(missing.statusCode, 404)
    t.same(hidden.json().detail, missing.json().detail, 'someone else\'s project and a missing one look the same')
    const wrongKind = await get(`/api/v4/groups/${API_PROJECT}`, await asUser(ctx, ALICE))
    t.equal(wrongKind.statusCode, 404, 'a project is not a group')
    const admin = await get(`/api/v4/projects/${DOTFILES}`, await asUser(ctx, ADMIN))
    t.equal(admin.statusCode, 200)
    t.equal(admin.json().access_level, null, 'an administrator without a membership has no role there')
    const adminList = await get('/api/v4/groups', await asUser(ctx, ADMIN))
    t.equal(adminList.headers['x-total'], '4')
    const bad = await get('/api/v4/groups/abc', await asUser(ctx, ALICE))
    t.equal(bad.statusCode, 400)
  })

  t.test('token callers need read_user for /user and read_personal_access_token for the lists', async (t) => {
    const narrow = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
    t.equal((await get('/api/v4/user', patHeader(narrow.token!))).statusCode, 200)
    const denied = await get('/api/v4/groups', patHeader(narrow.token!))
    t.equal(denied.statusCode, 403)
    t.equal(denied.json().code, 'insufficient_scope')
    const reader = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_personal_access_token'] }] })
    t.equal((await get('/api/v4/user', patHeader(reader.token!))).json().code, 'insufficient_scope')
    const listed = await get('/api/v4/groups', patHeader(reader.token!))
    t.equal(listed.statusCode, 200)
    t.same(ids(listed.body).sort(), [ACME, PLATFORM, INFRA, OPENSOURCE].sort(), 'the owner\'s groups, not only what the token reaches')
    t.equal((await get('/api/v4/groups', {})).statusCode, 401)
  })
})
