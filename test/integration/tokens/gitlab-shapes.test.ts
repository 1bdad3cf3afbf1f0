// granular_scopes on the wire as GitLab 19.x has them: responses give one entry per target
// ({access, permissions, project_id, group_id}, the unused id null); requests take GitLab's request
// shape (group_ids / project_ids) and that per-target shape too, so what a client read goes back as is.
import t from 'tap'
import { build, type TestContext } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'

const ENTRY_KEYS = ['access', 'permissions', 'project_id', 'group_id']

async function call(ctx: TestContext, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>, as = ALICE) {
  return ctx.app.inject({ method, url: `/api/v4${url}`, headers: await asUser(ctx, as), ...(payload ? { payload } : {}) })
}

const mixed = [
  { access: 'selected_memberships', group_ids: [ACME, OPENSOURCE], project_ids: [API_PROJECT], permissions: ['read_code'] },
  { access: 'personal_projects', permissions: ['read_code'] },
  { access: 'user', permissions: ['read_user'] },
]

t.test('every token representation gives granular_scopes per target, in GitLab\'s field order', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const created = await createToken(ctx, ALICE, { granular_scopes: mixed })
  const expected = [
    { access: 'selected_memberships', permissions: ['read_code'], project_id: null, group_id: ACME },
    { access: 'selected_memberships', permissions: ['read_code'], project_id: null, group_id: OPENSOURCE },
    { access: 'selected_memberships', permissions: ['read_code'], project_id: API_PROJECT, group_id: null },
    { access: 'personal_projects', permissions: ['read_code'], project_id: null, group_id: null },
    { access: 'user', permissions: ['read_user'], project_id: null, group_id: null },
  ]
  t.same(created.granular_scopes, expected, 'create')
  t.ok(created.granular_scopes.every((e) => JSON.stringify(Object.keys(e)) === JSON.stringify(ENTRY_KEYS)), 'access, permissions, project_id, group_id: every key present, in that order')

  const shown = (await call(ctx, 'GET', `/personal_access_tokens/${created.id}`)).json() as TokenJson
  t.same(shown.granular_scopes, expected, 'show')
  const listed = (await call(ctx, 'GET', '/personal_access_tokens')).json() as TokenJson[]
  t.same(listed[0].granular_scopes, expected, 'list')
  const inventory = (await call(ctx, 'GET', '/admin/personal_access_tokens', undefined, ADMIN)).json() as TokenJson[]
  t.same(inventory.find((x) => x.id === created.id)?.granular_scopes, expected, 'admin credential inventory')
  const groupInventory = (await call(ctx, 'GET', `/groups/${ACME}/manage/personal_access_tokens`, undefined, ADMIN)).json() as TokenJson[]
  t.same(groupInventory.find((x) => x.id === created.id)?.granular_scopes, expected, 'group credential inventory')
  const rotated = (await call(ctx, 'POST', `/personal_access_tokens/${created.id}/rotate`)).json() as TokenJson
  t.same(rotated.granular_scopes, expected, 'rotate')
  const copy = await call(ctx, 'POST', `/personal_access_tokens/${rotated.id}/duplicate`, {})
  t.equal(copy.statusCode, 201, copy.body)
  t.same(copy.json().granular_scopes, expected, 'duplicate (it re-validates the read shape internally)')
})

t.test('round trip: what a client read goes back unchanged and means the same scopes', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const original = await createToken(ctx, ALICE, { granular_scopes: mixed })
  const read = (await call(ctx, 'GET', `/personal_access_tokens/${original.id}`)).json() as TokenJson

  const edited = await call(ctx, 'PATCH', `/personal_access_tokens/${original.id}`, { granular_scopes: read.granular_scopes })
  t.equal(edited.statusCode, 200, edited.body)
  t.same(edited.json().granular_scopes, read.granular_scopes, 'PATCH with the scopes as read: the same scopes')
  const audit = await ctx.app.db.selectFrom('audit_events').select('details').where('action', '=', 'token.updated').executeTakeFirst()
  t.same((audit?.details as { changes?: { granular_scopes?: unknown } } | undefined)?.changes?.granular_scopes, { permissions_added: [], permissions_removed: [] }, 'no permission added or removed')

  const again = await call(ctx, 'POST', '/user/personal_access_tokens', { name: 'copy by hand', expires_at: inDays(10), granular_scopes: read.granular_scopes })
  t.equal(again.statusCode, 201, again.body)
  t.same(again.json().granular_scopes, read.granular_scopes, 'a create with the read shape makes the same scopes')
  const stored = async (id: number) =>
    (await ctx.app.db.selectFrom('personal_access_token_scopes').select(['access', 'namespace_id', 'permissions']).where('token_id', '=', id).orderBy('id').execute())
  t.same(await stored(again.json().id), await stored(original.id), 'stored rows are identical')

  const preview = await call(ctx, 'POST', '/personal_access_tokens/preview', { granular_scopes: read.granular_scopes })
  t.equal(preview.json().valid, true, 'the preview takes the read shape too')
})

t.test('the per-target shape is validated as strictly as the list shape', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['group_id with group_ids', { access: 'selected_memberships', group_id: ACME, group_ids: [OPENSOURCE], permissions: ['read_code'] }, 'conflicting_resources', 'body.granular_scopes[0]'],
    ['project_id with group_ids', { access: 'selected_memberships', project_id: API_PROJECT, group_ids: [ACME], permissions: ['read_code'] }, 'conflicting_resources', 'body.granular_scopes[0]'],
    ['group_id and project_id both set', { access: 'selected_memberships', group_id: ACME, project_id: API_PROJECT, permissions: ['read_code'] }, 'conflicting_resources', 'body.granular_scopes[0]'],
    ['a target on user access', { access: 'user', group_id: ACME, project_id: null, permissions: ['read_user'] }, 'unexpected_resources', 'body.granular_scopes[0]'],
    ['a target on all_memberships', { access: 'all_memberships', project_id: API_PROJECT, permissions: ['read_code'] }, 'unexpected_resources', 'body.granular_scopes[0]'],
    ['selected_memberships with both null', { access: 'selected_memberships', project_id: null, group_id: null, permissions: ['read_code'] }, 'missing_resources', 'body.granular_scopes[0]'],
    ['a project as group_id', { access: 'selected_memberships', group_id: API_PROJECT, project_id: null, permissions: ['read_code'] }, 'namespace_kind_mismatch', 'body.granular_scopes[0].group_id'],
    ['an unknown project_id', { access: 'selected_memberships', project_id: 9999, group_id: null, permissions: ['read_code'] }, 'namespace_not_found', 'body.granular_scopes[0].project_id'],
    ['a group-only permission on project_id', { access: 'selected_memberships', project_id: API_PROJECT, group_id: null, permissions: ['create_subgroup'] }, 'permission_not_grantable', 'body.granular_scopes[0].permissions[0]'],
    ['a string id', { access: 'selected_memberships', project_id: '102', permissions: ['read_code'] }, 'validation_failed', 'body.granular_scopes.0.project_id'],
    ['id 0', { access: 'selected_memberships', group_id: 0, permissions: ['read_code'] }, 'validation_failed', 'body.granular_scopes.0.group_id'],
  ]
  for (const [label, scope, code, path] of cases) {
    const res = await call(ctx, 'POST', '/user/personal_access_tokens', { name: 'x', expires_at: inDays(5), granular_scopes: [scope] })
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.equal(res.json().code, code, `${label}: ${code}`)
    const paths = (res.json().errors as { path: string }[]).map((e) => e.path.replace(/\[(\d+)\]/g, '.$1'))
    t.ok(paths.includes(path.replace(/\[(\d+)\]/g, '.$1')), `${label}: names ${path} (got ${paths.join(', ')})`)
  }
  const token = await createToken(ctx, ALICE)
  const patch = await call(ctx, 'PATCH', `/personal_access_tokens/${token.id}`, { granular_scopes: [{ access: 'user', permissions: ['read_user'], group_id: ACME }] })
  t.equal(patch.statusCode, 400, 'PATCH refuses the same way')
  t.equal(patch.json().code, 'unexpected_resources')
  const count = await ctx.app.db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 1, 'nothing written by a refused request')
})

t.test('templates keep the request shape (lists) whichever shape they are given', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const res = await call(ctx, 'POST', '/personal_access_token_templates', {
    name: 'per target', granular_scopes: [
      { access: 'selected_memberships', project_id: API_PROJECT, group_id: null, permissions: ['read_code'] },
      { access: 'user', project_id: null, group_id: null, permissions: ['read_user'] },
    ],
  })
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json().granular_scopes, [
    { access: 'selected_memberships', permissions: ['read_code'], project_ids: [API_PROJECT] },
    { access: 'user', permissions: ['read_user'] },
  ])
  const bad = await call(ctx, 'POST', '/personal_access_token_templates', { name: 'bad', granular_scopes: [{ access: 'user', group_id: ACME, permissions: ['read_user'] }] })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'unexpected_resources')
  const token = await call(ctx, 'POST', '/user/personal_access_tokens', { name: 'from template', expires_at: inDays(5), template_id: res.json().id })
  t.equal(token.statusCode, 201, token.body)
  t.same(token.json().granular_scopes.map((e: { project_id: number | null }) => e.project_id), [API_PROJECT, null], 'the token made from it is shown per target')
})
