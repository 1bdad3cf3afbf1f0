// Policy at decision time: each knob denies with its reason code, the stricter of instance and group
// wins, and a change takes effect on the very next decision (the cached entries are refreshed).
import t from 'tap'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ALICE, API_PROJECT, CLI_PROJECT, inDays, ACME, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { ok, putGroup, putInstance } from './helpers.js'

t.test('each runtime knob denies on the very next decision, and lifting it allows again', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const fine = (await createToken(ctx, ALICE, {
    granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT, CLI_PROJECT], permissions: ['read_code'] }],
  })).token!
  const legacy = (await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })).token!
  const api = { type: 'project', id: API_PROJECT }
  const cli = { type: 'project', id: CLI_PROJECT }
  // Warm every cache tier first, so the next answers prove invalidation rather than a cold read.
  t.equal((await authorize(fine, 'read_code', api)).reason, 'allowed')
  t.equal((await authorize(legacy, 'read_code', api)).reason, 'allowed')

  await ok(putInstance(ctx, { blocked_permissions: ['read_code'] }))
  const blocked = await authorize(fine, 'read_code', api)
  t.match(blocked, { allowed: false, reason: 'permission_blocked_by_policy', missing: ['Code: Read'] })
  t.equal((await authorize(legacy, 'read_code', cli)).reason, 'permission_blocked_by_policy', 'legacy tokens too')
  await ok(putInstance(ctx, { blocked_permissions: [] }))
  t.equal((await authorize(fine, 'read_code', api)).reason, 'allowed')

  await ok(putInstance(ctx, { allow_legacy_tokens: false }))
  t.equal((await authorize(legacy, 'read_code', api)).reason, 'legacy_token_blocked')
  t.equal((await authorize(fine, 'read_code', api)).reason, 'allowed', 'fine-grained tokens are unaffected')
  await ok(putInstance(ctx, { allow_legacy_tokens: true, legacy_tokens_blocked_from: inDays(1) }))
  t.equal((await authorize(legacy, 'read_code', api)).reason, 'allowed', 'before the cut-off date')
  await ok(putInstance(ctx, { legacy_tokens_blocked_from: inDays(0) }))
  t.equal((await authorize(legacy, 'read_code', api)).reason, 'legacy_token_blocked', 'from the cut-off date')
  await ok(putInstance(ctx, { legacy_tokens_blocked_from: null }))

  await ok(putInstance(ctx, { allowed_ip_ranges: ['10.0.0.0/8'] }))
  t.equal((await authorize(fine, 'read_code', api, { ip: '192.168.1.1' })).reason, 'ip_not_allowed')
  t.equal((await authorize(fine, 'read_code', api)).reason, 'ip_not_allowed', 'no client IP: not in the ranges')
  t.equal((await authorize(fine, 'read_code', api, { ip: '10.20.30.40' })).reason, 'allowed')
  await ok(putInstance(ctx, { allowed_ip_ranges: [] }))
  t.equal((await authorize(fine, 'read_code', api, { ip: '192.168.1.1' })).reason, 'allowed')
})

t.test('group policy applies to its own groups and projects only; stricter wins', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const fine = (await createToken(ctx, ALICE, {
    granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT, CLI_PROJECT], permissions: ['read_code'] }],
  })).token!
  const legacy = (await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })).token!
  const api = { type: 'project', id: API_PROJECT }
  const cli = { type: 'project', id: CLI_PROJECT }
  t.equal((await authorize(fine, 'read_code', api)).reason, 'allowed')

  await ok(putGroup(ctx, ACME, { blocked_permissions: ['read_code'], allowed_ip_ranges: ['10.0.0.0/8'] }))
  t.equal((await authorize(fine, 'read_code', api, { ip: '10.0.0.1' })).reason, 'permission_blocked_by_policy', 'the instance allows, the group blocks: blocked')
  t.equal((await authorize(fine, 'read_code', api, { ip: '192.168.0.1' })).reason, 'ip_not_allowed')
  t.equal((await authorize(fine, 'read_code', cli, { ip: '192.168.0.1' })).reason, 'allowed', 'opensource has no such policy')

  await ok(putGroup(ctx, OPENSOURCE, { allow_legacy_tokens: false }))
  t.equal((await authorize(legacy, 'read_code', cli)).reason, 'legacy_token_blocked')
  t.equal((await authorize(legacy, 'read_code', { type: 'group', id: OPENSOURCE })).reason, 'legacy_token_blocked')
  await ok(putGroup(ctx, ACME, { blocked_permissions: [], allowed_ip_ranges: [] }))
  t.equal((await authorize(fine, 'read_code', api, { ip: '192.168.0.1' })).reason, 'allowed', 'lifted at once')
  t.equal((await authorize(legacy, 'read_code', api)).reason, 'allowed', 'the legacy block is opensource\'s only')

  const both = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize/batch', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }, payload: { token: legacy, checks: [{ permission: 'read_code', resource: api }, { permission: 'read_code', resource: cli }] } })
  t.equal(both.statusCode, 200)
})
