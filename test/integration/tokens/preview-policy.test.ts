// The preview as a generate form uses it: the expiry rules in force for the scopes (so a user who
// cannot read the instance settings or a group's policy still learns their default and maximum),
// what policy would refuse, an expiry checked as creation checks it, and a legacy token's
// fine-grained equivalent (the way to convert it with duplicate).
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, CLI_PROJECT, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn, type TokenJson } from '../../helpers/tokens.js'
import { authorizer } from '../../helpers/authorize.js'
import { ok, putGroup, putInstance } from '../governance/helpers.js'

type PreviewJson = {
  valid: boolean
  errors: { path: string; message: string; code: string }[]
  permissions: { name: string }[]
  user: boolean
  instance: boolean
  groups: { full_path: string }[]
  projects: { full_path: string }[]
  expiry: { required: boolean; max_lifetime_days: number; latest: string; default_lifetime_days: number | null; default: string; source: string }
  granular_equivalent?: { access: string; permissions: string[] }[]
}

async function preview(ctx: Awaited<ReturnType<typeof build>>, userId: number, payload: Record<string, unknown>) {
  const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, userId), payload })
  t.equal(res.statusCode, 200, res.body)
  return res.json() as PreviewJson
}

t.test('expiry rules in force: instance alone without scopes, the stricter group where the scopes reach it', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const settings = await ctx.app.inject({ url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, ALICE) })
  t.equal(settings.statusCode, 403, 'a user cannot read the instance settings: the preview is how they learn their limits')

  const fresh = await preview(ctx, ALICE, {})
  t.equal(fresh.valid, false, 'no scopes yet')
  t.same(fresh.expiry, { required: true, max_lifetime_days: 365, latest: inDays(365), default_lifetime_days: null, default: inDays(365), source: 'instance settings' })

  await ok(putInstance(ctx, { max_lifetime_days: 200, default_lifetime_days: 90 }))
  await ok(putGroup(ctx, ACME, { max_lifetime_days: 30, default_lifetime_days: 14 }))
  const cli = await preview(ctx, ALICE, { granular_scopes: readCodeOn([CLI_PROJECT]) })
  t.match(cli.expiry, { required: true, max_lifetime_days: 200, latest: inDays(200), default_lifetime_days: 90, default: inDays(90), source: 'instance settings' })
  const api = await preview(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  t.match(api.expiry, { max_lifetime_days: 30, latest: inDays(30), default_lifetime_days: 14, default: inDays(14), source: /group acme/ })

  // The default the preview announces is the one creation gives.
  const created = await createToken(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]), expires_at: undefined })
  t.equal(created.expires_at, api.expiry.default)

  await ok(putInstance(ctx, { require_expiry: false }))
  t.equal((await preview(ctx, ALICE, { granular_scopes: readCodeOn([CLI_PROJECT]) })).expiry.required, false, 'never is allowed where nothing requires an expiry')
  t.equal((await preview(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })).expiry.required, false)
})

t.test('expires_at is checked as creation checks it; policy refusals are errors at their field', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putGroup(ctx, ACME, { max_lifetime_days: 30, blocked_permissions: ['push_code'] }))
  const scopes = readCodeOn([API_PROJECT])
  t.equal((await preview(ctx, ALICE, { granular_scopes: scopes, expires_at: inDays(30) })).valid, true)
  const late = await preview(ctx, ALICE, { granular_scopes: scopes, expires_at: inDays(31) })
  t.equal(late.valid, false)
  t.match(late.errors, [{ path: 'body.expires_at', code: 'expiry_beyond_max_lifetime', message: /on or before .*set by the group acme/ }])
  t.match((await preview(ctx, ALICE, { granular_scopes: scopes, expires_at: null })).errors, [{ path: 'body.expires_at', code: 'expiry_required' }])
  t.match((await preview(ctx, ALICE, { granular_scopes: scopes, expires_at: inDays(0) })).errors, [{ path: 'body.expires_at', code: 'expiry_in_past' }])

  const blocked = await preview(ctx, ALICE, { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] }] })
  t.equal(blocked.valid, false)
  t.match(blocked.errors, [{ path: 'body.granular_scopes', code: 'policy_violation', message: /blocked_permissions.*push_code/ }])
  const create = await ctx.app.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await asUser(ctx, ALICE),
    payload: { name: 'x', granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] }] },
  })
  t.equal(create.json().code, 'policy_violation', 'creation refuses what the preview announced')
  t.same(create.json().errors, blocked.errors.map(({ path, message }) => ({ path, message })), 'with the same messages')
  const count = await ctx.app.db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0, 'the preview stores nothing')
})

t.test('legacy scopes: the fine-grained equivalent, which duplicate takes to convert the token', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const repo = await preview(ctx, ALICE, { scopes: ['read_repository', 'read_user'] })
  t.same(repo.granular_equivalent, [
    { access: 'all_memberships', permissions: ['download_code_archive', 'read_code'] },
    { access: 'personal_projects', permissions: ['download_code_archive', 'read_code'] },
    { access: 'user', permissions: ['read_email', 'read_gpg_key', 'read_ssh_key', 'read_user'] },
  ])
  t.equal((await preview(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })).granular_equivalent, undefined, 'only for legacy scopes')

  const api = await preview(ctx, ALICE, { scopes: ['api'] })
  t.notOk(api.granular_equivalent!.some((s) => s.access === 'instance'), 'no instance scope for a user who is not an administrator')
  t.ok(api.granular_equivalent!.every((s) => s.permissions.length <= 300))
  const all = api.granular_equivalent!.find((s) => s.access === 'all_memberships')!
  t.ok(all.permissions.includes('manage_merge_request') && !all.permissions.includes('merge_merge_request'), 'bundles stand for their members')
  t.ok((await preview(ctx, ADMIN, { scopes: ['api'] })).granular_equivalent!.some((s) => s.access === 'instance'), 'an administrator\'s api reaches the instance')

  // The equivalent is valid as it is: duplicate converts the token, with the same reach.
  const legacy = await createToken(ctx, ALICE, { name: 'old', scopes: ['read_repository', 'read_user'], granular_scopes: undefined })
  const res = await ctx.app.inject({
    method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/duplicate`, headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: repo.granular_equivalent },
  })
  t.equal(res.statusCode, 201, res.body)
  const fine = res.json() as TokenJson
  t.match(fine, { kind: 'fine_grained', duplicated_from_id: legacy.id })
  const authorize = await authorizer(ctx)
  for (const [token, label] of [[legacy.token!, 'legacy'], [fine.token!, 'converted']] as const) {
    t.equal((await authorize(token, 'read_code', { type: 'project', id: CLI_PROJECT })).allowed, true, `${label}: read_code on a membership`)
    t.equal((await authorize(token, 'push_code', { type: 'project', id: CLI_PROJECT })).allowed, false, `${label}: nothing more`)
  }
  const converted = await preview(ctx, ALICE, { granular_scopes: repo.granular_equivalent })
  t.same(converted.projects.map((p) => p.full_path).sort(), repo.projects.map((p) => p.full_path).sort(), 'the same projects reached')

  await ok(putInstance(ctx, { allow_legacy_tokens: false }))
  t.match((await preview(ctx, ALICE, { scopes: ['read_api'] })).errors, [{ path: 'body.scopes', code: 'policy_violation' }], 'legacy tokens refused by policy')
})
