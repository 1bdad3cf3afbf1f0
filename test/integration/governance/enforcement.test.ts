// Each policy knob refusing at creation, edit, rotation and duplication; the stricter of instance and
// group wins where the token reaches the group, and only there.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, CLI_PROJECT, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'
import { ok, putGroup, putInstance, tryCreate } from './helpers.js'

const onApi = (permissions: string[]) => [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions }]

t.test('lifetime and expiry: instance, stricter group, default lifetime', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { max_lifetime_days: 60 }))
  const tooLong = await tryCreate(ctx, ALICE, { expires_at: inDays(90), granular_scopes: readCodeOn([API_PROJECT]) })
  t.equal(tooLong.statusCode, 400)
  t.equal(tooLong.json().code, 'expiry_beyond_max_lifetime')
  t.match(tooLong.json().detail, /maximum lifetime 60 days.*instance settings/)

  await ok(putGroup(ctx, ACME, { max_lifetime_days: 10 }))
  const underAcme = await tryCreate(ctx, ALICE, { expires_at: inDays(20), granular_scopes: readCodeOn([API_PROJECT]) })
  t.equal(underAcme.statusCode, 400, 'the group is stricter than the instance')
  t.match(underAcme.json().detail, /maximum lifetime 10 days.*group acme \(100\) policy/)
  t.equal((await tryCreate(ctx, ALICE, { expires_at: inDays(20), granular_scopes: readCodeOn([CLI_PROJECT]) })).statusCode, 201, 'elsewhere the instance maximum applies')
  const allMemberships = await tryCreate(ctx, ALICE, { expires_at: inDays(20), granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  t.equal(allMemberships.statusCode, 400, 'all_memberships reaches acme too')

  await ok(putInstance(ctx, { require_expiry: false }))
  t.equal((await tryCreate(ctx, ALICE, { expires_at: null, granular_scopes: readCodeOn([CLI_PROJECT]) })).statusCode, 201, 'no expiry when nobody requires one')
  await ok(putGroup(ctx, OPENSOURCE, { require_expiry: true }))
  const required = await tryCreate(ctx, ALICE, { expires_at: null, granular_scopes: readCodeOn([CLI_PROJECT]) })
  t.equal(required.statusCode, 400, 'a group may require expiry the instance does not')
  t.equal(required.json().code, 'expiry_required')

  await ok(putInstance(ctx, { default_lifetime_days: 7 }))
  const defaulted = await tryCreate(ctx, ALICE, { granular_scopes: readCodeOn([CLI_PROJECT]) })
  t.equal(defaulted.statusCode, 201)
  t.equal(defaulted.json().expires_at, inDays(7), 'no expires_at: the default lifetime')
  const capped = await tryCreate(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  t.equal(capped.json().expires_at, inDays(7))
})

t.test('legacy tokens and blocked permissions at creation, edit, rotation and duplication', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })
  const fine = await createToken(ctx, ALICE, { expires_at: inDays(30), granular_scopes: onApi(['read_code']) })

  await ok(putInstance(ctx, { allow_legacy_tokens: false }))
  const refused = await tryCreate(ctx, ALICE, { expires_at: inDays(10), scopes: ['read_api'] })
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().code, 'policy_violation')
  t.match(refused.json().detail, /instance settings: allow_legacy_tokens/)
  t.same(refused.json().errors.map((e: { path: string }) => e.path), ['body.scopes'])
  const rotate = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotate.statusCode, 400, 'a legacy token cannot be rotated into a new legacy token')
  t.equal(rotate.json().code, 'policy_violation')
  await ok(putInstance(ctx, { allow_legacy_tokens: true, legacy_tokens_blocked_from: inDays(0) }))
  t.match((await tryCreate(ctx, ALICE, { expires_at: inDays(10), scopes: ['read_api'] })).json().detail, /legacy_tokens_blocked_from/)
  await ok(putInstance(ctx, { legacy_tokens_blocked_from: null }))
  await ok(putGroup(ctx, OPENSOURCE, { enforce_fine_grained_from: inDays(-1) }))
  const byGroup = await tryCreate(ctx, ALICE, { expires_at: inDays(10), scopes: ['read_api'] })
  t.equal(byGroup.statusCode, 400, 'alice is a member of opensource, which enforces fine-grained tokens')
  t.match(byGroup.json().detail, /group opensource \(200\) policy: enforce_fine_grained_from/)

  await ok(putInstance(ctx, { blocked_permissions: ['delete_project'] }))
  const blocked = await tryCreate(ctx, ALICE, { expires_at: inDays(10), granular_scopes: onApi(['read_code', 'delete_project']) })
  t.equal(blocked.statusCode, 400)
  t.match(blocked.json(), { code: 'policy_violation', detail: /instance settings: blocked_permissions.*delete_project/ })

  await ok(putGroup(ctx, ACME, { blocked_permissions: ['push_code', 'play_job'] }))
  t.equal((await tryCreate(ctx, ALICE, { expires_at: inDays(10), granular_scopes: onApi(['push_code']) })).statusCode, 400, 'blocked on acme and below')
  const bundle = await tryCreate(ctx, ALICE, { expires_at: inDays(10), granular_scopes: onApi(['run_job']) })
  t.equal(bundle.statusCode, 400, 'a bundle holding a blocked permission is refused')
  t.match(bundle.json().detail, /play_job/)
  t.equal((await tryCreate(ctx, ALICE, { expires_at: inDays(10), granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['push_code'] }] })).statusCode, 201, 'other groups are not affected')

  const edit = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${fine.id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: onApi(['read_code', 'push_code']) } })
  t.equal(edit.statusCode, 400, 'an edit cannot add a blocked permission')
  t.match(edit.json().detail, /group acme \(100\) policy: blocked_permissions/)
  const dup = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${fine.id}/duplicate`, headers: await asUser(ctx, ALICE), payload: {} })
  t.equal(dup.statusCode, 201, 'read_code is still fine')
  await ok(putGroup(ctx, ACME, { blocked_permissions: ['read_code'], max_lifetime_days: 5 }))
  const dup2 = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${fine.id}/duplicate`, headers: await asUser(ctx, ALICE), payload: {} })
  t.equal(dup2.statusCode, 400)
  t.equal(dup2.json().code, 'policy_violation')
  await ok(putGroup(ctx, ACME, { blocked_permissions: [] }))
  const rotated = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${fine.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotated.statusCode, 200)
  t.equal(rotated.json().expires_at, inDays(5), 'rotation carries the lifetime over, capped by the stricter group maximum')
  const tooLate = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotated.json().id}/rotate`, headers: await asUser(ctx, ALICE), payload: { expires_at: inDays(9) } })
  t.equal(tooLate.statusCode, 400)
  t.equal(tooLate.json().code, 'expiry_beyond_max_lifetime')
})

t.test('custom token prefix for new fine-grained tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { token_prefix: 'acme-' }))
  const token = await createToken(ctx, ALICE)
  t.match(token.token, /^acme-[0-9A-Za-z]{49}$/)
  const self = await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: { 'private-token': token.token! } })
  t.equal(self.statusCode, 200, 'the new prefix authenticates')
  const legacy = await createToken(ctx, ADMIN, { granular_scopes: undefined, scopes: ['read_api'] })
  t.match(legacy.token, /^lgpat-/, 'legacy tokens keep their prefix')
})
