// GET /personal_access_tokens/self/associations as GitLab has it: min_access_level, page/per_page with
// GitLab's pagination headers, and GitLab's field names for each group and project.
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ALICE, ALICE_NS, API_PROJECT, asUser, DOTFILES, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'

interface Group { id: number; name: string; path: string; full_path: string; parent_id: number | null; access_levels: number; access_level: number; visibility: string }
interface Project {
  id: number; name: string; name_with_namespace: string; path: string; path_with_namespace: string; created_at: string; visibility: string
  access_levels: { project_access_level: number | null; group_access_level: number | null }
  namespace: { id: number; name: string; path: string; kind: string; full_path: string; parent_id: number | null }
  access_level: number
}
interface Associations { groups: Group[]; projects: Project[]; truncated: boolean }

const everywhere = [{ access: 'all_memberships', permissions: ['read_code'] }, { access: 'personal_projects', permissions: ['read_code'] }]

async function associations(ctx: TestContext, token: string, query = '') {
  const res = await ctx.app.inject({ url: `/api/v4/personal_access_tokens/self/associations${query}`, headers: patHeader(token) })
  return { res, body: res.json() as Associations }
}

t.test('GitLab\'s fields: access_levels, name_with_namespace, path_with_namespace, namespace', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = (await createToken(ctx, ALICE, { granular_scopes: everywhere })).token!
  const { res, body } = await associations(ctx, token, '?per_page=100')
  t.equal(res.statusCode, 200)
  t.same(body.groups.map((g) => g.full_path), ['acme', 'acme/platform', 'acme/platform/infra', 'opensource'])
  t.same(body.projects.map((p) => p.path_with_namespace), ['acme/platform/api', 'acme/platform/infra/terraform', 'acme/website', 'alice/dotfiles', 'opensource/cli'])
  t.same(body.groups[0], { id: ACME, name: 'acme', path: 'acme', full_path: 'acme', parent_id: null, access_levels: 30, visibility: 'private', access_level: 30 })
  const api = body.projects[0]
  t.match(api, {
    id: API_PROJECT, name: 'api', name_with_namespace: 'acme / platform / api', path: 'api', path_with_namespace: 'acme/platform/api', visibility: 'private',
    access_levels: { project_access_level: 40, group_access_level: 30 },
    namespace: { id: PLATFORM, name: 'platform', path: 'platform', kind: 'group', full_path: 'acme/platform', parent_id: ACME },
    access_level: 40,
  })
  t.ok(!Number.isNaN(Date.parse(api.created_at)), 'created_at is a timestamp')
  t.same(body.projects[2].access_levels, { project_access_level: null, group_access_level: 30 }, 'website: a membership above the project only')
  t.match(body.projects[3], { id: DOTFILES, access_levels: { project_access_level: 50, group_access_level: null }, namespace: { id: ALICE_NS, kind: 'user' } }, 'a personal project: owned')
  t.equal(body.truncated, false)
})

t.test('min_access_level keeps what the owner\'s role reaches; other values are a 400', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = (await createToken(ctx, ALICE, { granular_scopes: everywhere })).token!
  const at = async (level: number) => {
    const { res, body } = await associations(ctx, token, `?min_access_level=${level}&per_page=100`)
    t.equal(res.statusCode, 200, `${level}: 200`)
    return [body.groups.map((g) => g.full_path), body.projects.map((p) => p.path_with_namespace)]
  }
  t.same(await at(10), [['acme', 'acme/platform', 'acme/platform/infra', 'opensource'], ['acme/platform/api', 'acme/platform/infra/terraform', 'acme/website', 'alice/dotfiles', 'opensource/cli']])
  t.same(await at(5), await at(10), '5 (minimal access) keeps every membership')
  t.same(await at(30), [['acme', 'acme/platform', 'acme/platform/infra'], ['acme/platform/api', 'acme/platform/infra/terraform', 'acme/website', 'alice/dotfiles']], 'developer and up: opensource (reporter) left out')
  t.same(await at(40), [[], ['acme/platform/api', 'alice/dotfiles']], 'maintainer and up')
  t.same(await at(50), [[], ['alice/dotfiles']], 'owner: the personal project')
  for (const bad of ['35', '0', '60', 'owner', '']) {
    const { res } = await associations(ctx, token, `?min_access_level=${bad}`)
    t.equal(res.statusCode, 400, `min_access_level=${bad}: 400`)
    t.equal(res.json().code, 'validation_failed')
    t.match(JSON.stringify(res.json().errors), /min_access_level/, `min_access_level=${bad}: names the parameter`)
  }
})

t.test('page and per_page: both lists paginated alike, the headers following the longer', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = (await createToken(ctx, ALICE, { granular_scopes: everywhere })).token!
  const first = await associations(ctx, token, '?per_page=2')
  t.same(first.body.groups.map((g) => g.full_path), ['acme', 'acme/platform'])
  t.same(first.body.projects.map((p) => p.path_with_namespace), ['acme/platform/api', 'acme/platform/infra/terraform'])
  t.equal(first.body.truncated, true)
  t.match(first.res.headers, { 'x-total': '5', 'x-total-pages': '3', 'x-page': '1', 'x-per-page': '2', 'x-next-page': '2', 'x-prev-page': '' })
  t.match(first.res.headers.link, /associations\?per_page=2&page=2>; rel="next"/)
  const last = await associations(ctx, token, '?per_page=2&page=3')
  t.same(last.body.groups, [], 'the groups ran out on page 2')
  t.same(last.body.projects.map((p) => p.path_with_namespace), ['opensource/cli'])
  t.equal(last.body.truncated, false)
  t.match(last.res.headers, { 'x-next-page': '', 'x-prev-page': '2' })
  const filtered = await associations(ctx, token, '?min_access_level=40&per_page=1')
  t.match(filtered.res.headers, { 'x-total': '2', 'x-total-pages': '2' }, 'counts follow the filter')
  const defaults = await associations(ctx, token)
  t.match(defaults.res.headers, { 'x-page': '1', 'x-per-page': '20' }, 'page 1 of 20 by default, as GitLab')
  const tooBig = await associations(ctx, token, '?per_page=101')
  t.equal(tooBig.res.statusCode, 400)
})

t.test('only what the token reaches, and only for the token itself', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const selected = (await createToken(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', group_ids: [PLATFORM], permissions: ['read_code'] }] })).token!
  const some = await associations(ctx, selected)
  t.same(some.body.groups.map((g) => g.full_path), ['acme/platform', 'acme/platform/infra'])
  t.same(some.body.projects.map((p) => p.path_with_namespace), ['acme/platform/api', 'acme/platform/infra/terraform'])
  const userOnly = (await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })).token!
  const none = await associations(ctx, userOnly)
  t.same(none.body, { groups: [], projects: [], truncated: false })
  t.equal(none.res.headers['x-total'], '0')

  const jwt = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self/associations', headers: await asUser(ctx, ALICE) })
  t.equal(jwt.statusCode, 400)
  t.equal(jwt.json().code, 'token_caller_required')
  const anonymous = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self/associations' })
  t.equal(anonymous.statusCode, 401)
  await ctx.app.inject({ method: 'DELETE', url: '/api/v4/personal_access_tokens/self', headers: patHeader(selected) })
  const revoked = await associations(ctx, selected)
  t.equal(revoked.res.statusCode, 401, 'a revoked token lists nothing')
})
