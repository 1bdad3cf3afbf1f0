import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { tryCreate } from './helpers.js'

const URL = '/api/v4/personal_access_token_templates'

t.test('built-in templates use real permissions and create least-privilege tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const list = await ctx.app.inject({ url: URL, headers: await asUser(ctx, ALICE) })
  t.equal(list.statusCode, 200)
  const builtins = (list.json() as { id: number; name: string; owner_type: string; read_only: boolean }[]).filter((x) => x.owner_type === 'builtin')
  t.same(builtins.map((b) => b.name), ['Read-only repository access', 'CI/CD pipeline trigger', 'Package publishing', 'Issue-tracker integration', 'Release automation', 'Read-only auditor'])
  t.ok(builtins.every((b) => b.read_only))

  const created = await tryCreate(ctx, ALICE, { template_id: 1, template_targets: { project_ids: [API_PROJECT] } })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { template_id: 1, expires_at: inDays(90), granular_scopes: [{ access: 'selected_memberships', project_id: API_PROJECT, group_id: null }] })
  t.same(created.json().granular_scopes[0].permissions, ['download_code_archive', 'read_code', 'read_merge_request', 'read_release'])
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select('template_id').where('id', '=', created.json().id).executeTakeFirstOrThrow()
  t.equal(row.template_id, 1, 'recorded on the token')

  const noTargets = await tryCreate(ctx, ALICE, { template_id: 2 })
  t.equal(noTargets.statusCode, 400)
  t.equal(noTargets.json().code, 'template_targets_required')
  const both = await tryCreate(ctx, ALICE, { template_id: 1, template_targets: { project_ids: [API_PROJECT] }, scopes: ['api'] })
  t.equal(both.statusCode, 400, 'a template and explicit scopes do not mix')
  const auditor = await tryCreate(ctx, ALICE, { template_id: 6, expires_at: inDays(5) })
  t.equal(auditor.statusCode, 201, auditor.body)
  t.equal(auditor.json().expires_at, inDays(5), 'an explicit expiry wins over the template default')
  t.equal((await tryCreate(ctx, ALICE, { template_id: 999 })).json().code, 'template_not_found')

  const patch = await ctx.app.inject({ method: 'PATCH', url: `${URL}/1`, headers: await asUser(ctx, ADMIN), payload: { name: 'x' } })
  t.equal(patch.statusCode, 400)
  t.equal(patch.json().code, 'template_read_only')
})

t.test('personal, group and instance templates: who may create, see, change and use them; audited', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const scopes = [{ access: 'selected_memberships', permissions: ['read_code', 'read_issue'] }]
  const mine = await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ALICE), payload: { name: 'mine', granular_scopes: scopes, default_lifetime_days: 14 } })
  t.equal(mine.statusCode, 201, mine.body)
  t.match(mine.json(), { owner_type: 'user', owner_id: ALICE, read_only: false })
  t.ok(mine.json().id >= 1001)
  t.equal((await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ALICE), payload: { name: 'MINE', granular_scopes: scopes } })).statusCode, 409)
  const bad = await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ALICE), payload: { name: 'bad', granular_scopes: [{ access: 'selected_memberships', permissions: ['read_cod'] }] } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors[0], { path: 'body.granular_scopes[0].permissions[0]' })

  t.equal((await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ALICE), payload: { name: 'g', owner_type: 'group', group_id: OPENSOURCE, granular_scopes: scopes } })).statusCode, 404, 'a reporter cannot own group templates')
  const group = await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, BOB), payload: { name: 'oss bot', owner_type: 'group', group_id: OPENSOURCE, granular_scopes: scopes } })
  t.equal(group.statusCode, 201)
  t.equal((await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ALICE), payload: { name: 'i', owner_type: 'instance', granular_scopes: scopes } })).statusCode, 403)
  const instance = await ctx.app.inject({ method: 'POST', url: URL, headers: await asUser(ctx, ADMIN), payload: { name: 'company default', owner_type: 'instance', granular_scopes: scopes } })
  t.equal(instance.statusCode, 201)

  const names = async (who: number) => ((await ctx.app.inject({ url: `${URL}?owner_type=user`, headers: await asUser(ctx, who) })).json() as { name: string }[]).map((x) => x.name)
  t.same(await names(ALICE), ['mine'])
  t.same(await names(CAROL), [], 'personal templates are private')
  const aliceSees = ((await ctx.app.inject({ url: URL, headers: await asUser(ctx, ALICE) })).json() as { name: string }[]).map((x) => x.name)
  t.ok(aliceSees.includes('oss bot') && aliceSees.includes('company default'), 'members see their groups\' templates and instance templates')
  const carolSees = ((await ctx.app.inject({ url: URL, headers: await asUser(ctx, CAROL) })).json() as { name: string }[]).map((x) => x.name)
  t.notOk(carolSees.includes('oss bot'))

  const fromMine = await tryCreate(ctx, ALICE, { template_id: mine.json().id, template_targets: { project_ids: [CLI_PROJECT] } })
  t.equal(fromMine.statusCode, 201, fromMine.body)
  t.match(fromMine.json(), { template_id: mine.json().id, expires_at: inDays(14) })
  t.equal((await tryCreate(ctx, CAROL, { template_id: mine.json().id, template_targets: { project_ids: [CLI_PROJECT] } })).json().code, 'template_not_found', 'someone else\'s template')
  t.equal((await tryCreate(ctx, ALICE, { template_id: group.json().id, expires_at: inDays(20), template_targets: { project_ids: [CLI_PROJECT] } })).statusCode, 201, 'a member uses the group template (no default lifetime: expires_at is needed)')

  t.equal((await ctx.app.inject({ method: 'PATCH', url: `${URL}/${mine.json().id}`, headers: await asUser(ctx, BOB), payload: { name: 'x' } })).statusCode, 404, 'others\' templates are 404')
  const renamed = await ctx.app.inject({ method: 'PATCH', url: `${URL}/${mine.json().id}`, headers: await asUser(ctx, ALICE), payload: { name: 'renamed', default_lifetime_days: 7 } })
  t.match(renamed.json(), { name: 'renamed', default_lifetime_days: 7 })
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `${URL}/${group.json().id}`, headers: await asUser(ctx, ALICE) })).statusCode, 404)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `${URL}/${group.json().id}`, headers: await asUser(ctx, BOB) })).statusCode, 204)

  const events = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', 'like', 'template.%').orderBy('id').execute()
  t.same(events.map((e) => e.action), ['template.created', 'template.created', 'template.created', 'template.updated', 'template.deleted'])
  t.match(events[3].details, { changes: { name: { from: 'mine', to: 'renamed' }, default_lifetime_days: { from: 14, to: 7 } } })
  t.equal(events[1].namespace_id, OPENSOURCE, 'group template events belong to the group')
})
