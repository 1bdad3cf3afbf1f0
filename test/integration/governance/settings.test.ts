import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, asUser, BOB, CAROL, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { ok, putGroup, putInstance } from './helpers.js'

const SETTINGS = '/api/v4/application/settings/personal_access_tokens'

t.test('instance settings: defaults from configuration, admin only, validated, audited', async (t) => {
  const ctx = await build(t, { env: { MAX_TOKEN_LIFETIME_DAYS: '200' } })
  await seedDirectory(ctx)
  const before = await ok(ctx.app.inject({ url: SETTINGS, headers: await asUser(ctx, ADMIN) }))
  t.match(before, { require_expiry: true, max_lifetime_days: 200, allow_legacy_tokens: true, blocked_permissions: [], allowed_ip_ranges: [], token_prefix: null, version: 0, updated_at: null })

  const denied = await ctx.app.inject({ url: SETTINGS, headers: await asUser(ctx, ALICE) })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().code, 'admin_required')
  t.equal((await putInstance(ctx, { max_lifetime_days: 30 }, ALICE)).statusCode, 403)

  const bad = await putInstance(ctx, {
    max_lifetime_days: 30, default_lifetime_days: 60, blocked_permissions: ['push_code', 'push_cod'], allowed_ip_ranges: ['10.0.0.0/8', '10.0.0.0/40', 'nope'], token_prefix: 'lgpat-',
  })
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(bad.json().errors.map((e: { path: string }) => e.path).sort(), [
    'body.allowed_ip_ranges[1]', 'body.allowed_ip_ranges[2]', 'body.blocked_permissions[1]', 'body.default_lifetime_days', 'body.token_prefix',
  ])
  t.match(bad.json().detail, /did you mean "push_code"/)
  t.equal((await putInstance(ctx, { max_lifetime_days: 401 })).statusCode, 400, 'at most 400 days')
  t.equal((await putInstance(ctx, {})).statusCode, 400, 'an empty change is refused')
  t.equal((await putInstance(ctx, { surprise: true })).statusCode, 400)

  const saved = await ok(putInstance(ctx, { max_lifetime_days: 30, allowed_ip_ranges: ['10.1.2.3/8', '2001:db8::/32'], blocked_permissions: ['delete_project'] }))
  t.match(saved, { max_lifetime_days: 30, allowed_ip_ranges: ['10.0.0.0/8', '2001:db8::/32'], blocked_permissions: ['delete_project'], version: 1, require_expiry: true })
  t.ok(saved.updated_at)
  const again = await ok(putInstance(ctx, { max_lifetime_days: 30 }))
  t.equal(again.version, 1, 'no change, no new version')

  const events = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'policy.instance_updated').execute()
  t.equal(events.length, 1, 'each change audited once; a no-op is not a change')
  t.match(events[0], { actor_type: 'user', actor_id: String(ADMIN), target_type: 'instance_settings', target_id: '1' })
  t.match(events[0].details, { changes: { max_lifetime_days: { from: 200, to: 30 }, blocked_permissions: { from: [], to: ['delete_project'] } } })

  const service = { authorization: `Bearer ${await ctx.jwt.service('ops', ['tokens:admin'])}` }
  t.equal((await ctx.app.inject({ url: SETTINGS, headers: service })).statusCode, 200, 'a tokens:admin service may read them')
})

t.test('group policy: owners of the top-level group and admins; others 404; subgroups 400', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const url = (id: number) => `/api/v4/groups/${id}/personal_access_token_policy`
  const empty = await ok(ctx.app.inject({ url: url(OPENSOURCE), headers: await asUser(ctx, BOB) }))
  t.match(empty, { group_id: OPENSOURCE, full_path: 'opensource', version: 0, max_lifetime_days: null, require_expiry: false })

  for (const [who, id] of [[ALICE, OPENSOURCE], [CAROL, OPENSOURCE], [BOB, ACME], [ALICE, ACME], [ADMIN, 999]] as const) {
    const res = await ctx.app.inject({ url: url(id), headers: await asUser(ctx, who) })
    t.equal(res.statusCode, 404, `user ${who} on group ${id} → 404`)
    t.equal((await putGroup(ctx, id, { require_expiry: true }, who)).statusCode, 404)
  }
  const sub = await ctx.app.inject({ url: url(PLATFORM), headers: await asUser(ctx, ADMIN) })
  t.equal(sub.statusCode, 400)
  t.equal(sub.json().code, 'not_top_level_group')
  t.match(sub.json().detail, new RegExp(`/groups/${ACME}/personal_access_token_policy`))
  t.equal((await ctx.app.inject({ url: url(PLATFORM), headers: await asUser(ctx, BOB) })).statusCode, 404, 'a reporter learns nothing about the subgroup')

  const bad = await putGroup(ctx, OPENSOURCE, { max_lifetime_days: 10, default_lifetime_days: 20, blocked_permissions: ['nope'] }, BOB)
  t.equal(bad.statusCode, 400)
  t.same(bad.json().errors.map((e: { path: string }) => e.path).sort(), ['body.blocked_permissions[0]', 'body.default_lifetime_days'])

  const saved = await ok(putGroup(ctx, OPENSOURCE, { max_lifetime_days: 10, enforce_fine_grained_from: '2030-01-01' }, BOB))
  t.match(saved, { group_id: OPENSOURCE, max_lifetime_days: 10, enforce_fine_grained_from: '2030-01-01', version: 1 })
  await ok(putGroup(ctx, ACME, { blocked_permissions: ['push_code'] }))
  const events = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'policy.group_updated').orderBy('id').execute()
  t.equal(events.length, 2)
  t.match(events[0], { actor_id: String(BOB), target_type: 'group_token_policy', target_id: String(OPENSOURCE), namespace_id: OPENSOURCE })
  t.match(events[0].details, { full_path: 'opensource', changes: { max_lifetime_days: { from: null, to: 10 } } })
  t.match(events[1], { actor_id: String(ADMIN), namespace_id: ACME })
})
