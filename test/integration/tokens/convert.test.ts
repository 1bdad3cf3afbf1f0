// POST /personal_access_tokens/:id/convert: a live legacy token gets a fine-grained successor (from
// the usage recommendation, or from the scopes given), linked both ways; the legacy token keeps
// working for the grace period. Every refusal answers with its code.
import { sql } from 'kysely'
import t from 'tap'
import { build, manualClock, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CLI_PROJECT, inDays, seedDirectory, TERRAFORM, WEBSITE } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'

type Converted = TokenJson & { converted_from: number | null; converted_to: number | null; conversion_grace_ends_at: string | null }

const readOnApi = [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }]
const DAY = 86_400_000

async function convert(ctx: TestContext, id: number, headers: Record<string, string>, payload?: Record<string, unknown>) {
  return ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${id}/convert`, headers, ...(payload ? { payload } : {}) })
}

async function show(ctx: TestContext, id: number, userId = ALICE): Promise<Converted> {
  return (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${id}`, headers: await asUser(ctx, userId) })).json() as Converted
}

t.test('converted from what it was seen doing: the successor allows exactly the legacy token\'s recorded decisions, nothing else', async (t) => {
  const clock = manualClock(new Date())
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const legacy = await createToken(ctx, ALICE, { name: 'release job', scopes: ['api'], granular_scopes: undefined, expires_at: inDays(300) })
  // The job's pattern, two days running: reads and pushes code on acme/platform/api, reads issues on acme/website.
  const pattern: [string, Record<string, unknown>, number][] = [
    ['read_code', { type: 'project', id: API_PROJECT }, 4],
    ['push_code', { type: 'project', id: API_PROJECT }, 2],
    ['read_issue', { type: 'project', id: WEBSITE }, 1],
  ]
  for (let day = 0; day < 2; day++) {
    for (const [permission, resource, times] of pattern) {
      for (let i = 0; i < times; i++) t.equal((await authorize(legacy.token!, permission, resource)).allowed, true, `day ${day}: the legacy token may ${permission}`)
    }
    await ctx.app.usage.flush()
    clock.advanceDays(1)
  }

  const res = await convert(ctx, legacy.id, await asUser(ctx, ALICE))
  t.equal(res.statusCode, 201, res.body)
  const successor = res.json() as Converted
  t.match(successor, { kind: 'fine_grained', converted_from: legacy.id, name: 'release job' })
  const event = await ctx.app.db.selectFrom('audit_events').select('details').where('action', '=', 'token.converted').executeTakeFirstOrThrow()
  t.match(event.details, { source: 'recommendation', permissions: ['push_code', 'read_code', 'read_issue'], recommendation: String })

  for (const [permission, resource] of pattern) {
    const decision = await authorize(successor.token!, permission, resource)
    t.equal(decision.allowed, true, `the successor may ${permission} on ${resource.id}, as the legacy token was seen doing`)
  }
  const notSeen: [string, Record<string, unknown>, string][] = [
    ['create_merge_request', { type: 'project', id: API_PROJECT }, 'permission_not_granted'],
    ['push_code', { type: 'project', id: WEBSITE }, 'permission_not_granted'],
    ['read_code', { type: 'project', id: CLI_PROJECT }, 'resource_not_in_scope'],
    ['read_code', { type: 'project', id: TERRAFORM }, 'resource_not_in_scope'],
  ]
  for (const [permission, resource, reason] of notSeen) {
    t.equal((await authorize(successor.token!, permission, resource)).reason, reason, `never seen: ${permission} on ${resource.id} is denied`)
    t.equal((await authorize(legacy.token!, permission, resource)).allowed, true, `(which the legacy token could do: ${permission} on ${resource.id})`)
  }
})

t.test('too little recorded use: 422 insufficient_evidence, pointing to granular_scopes', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const legacy = await createToken(ctx, ALICE, { scopes: ['api'], granular_scopes: undefined })
  for (let i = 0; i < 3; i++) await authorize(legacy.token!, 'read_code', { type: 'project', id: API_PROJECT })
  await ctx.app.usage.flush()
  const res = await convert(ctx, legacy.id, await asUser(ctx, ALICE))
  t.equal(res.statusCode, 422)
  t.equal(res.json().code, 'insufficient_evidence')
  t.match(res.json().detail, /Too little evidence: 3 allowed decisions on 1 day.*Send granular_scopes/)
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select('conversion_grace_ends_at').where('id', '=', legacy.id).executeTakeFirstOrThrow()
  t.equal(row.conversion_grace_ends_at, null, 'nothing changed')
  t.equal((await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi })).statusCode, 201, 'with granular_scopes it converts')
})

t.test('converting with given granular_scopes: a linked fine-grained successor, shown once; the legacy token works through the grace', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const legacy = await createToken(ctx, ALICE, { name: 'deploy script', description: 'old', scopes: ['api'], granular_scopes: undefined, expires_at: inDays(200) })
  const before = Date.now()
  const res = await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi })
  t.equal(res.statusCode, 201, res.body)
  const successor = res.json() as Converted
  t.match(successor, { kind: 'fine_grained', name: 'deploy script', description: 'old', converted_from: legacy.id, converted_to: null, state: 'active', scopes: [] })
  t.match(successor.token, /^fgpat-/, 'the secret is returned once')
  t.same(successor.granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_id: API_PROJECT, group_id: null }])
  const graceEnd = Date.parse(successor.conversion_grace_ends_at!)
  t.ok(graceEnd >= before + 14 * DAY && graceEnd <= Date.now() + 14 * DAY, 'the default grace is 14 days')

  const shownLegacy = await show(ctx, legacy.id)
  t.match(shownLegacy, { converted_to: successor.id, converted_from: null, conversion_grace_ends_at: successor.conversion_grace_ends_at, state: 'active' })
  t.equal((await show(ctx, successor.id)).token, undefined, 'never shown again')

  const authorize = await authorizer(ctx)
  t.equal((await authorize(legacy.token!, 'push_code', { type: 'project', id: API_PROJECT })).allowed, true, 'the legacy token keeps working during the grace')
  t.equal((await authorize(successor.token!, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)
  t.equal((await authorize(successor.token!, 'push_code', { type: 'project', id: API_PROJECT })).reason, 'permission_not_granted')

  const event = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.converted').executeTakeFirstOrThrow()
  t.match(event, { target_id: String(successor.id), actor_type: 'user', actor_id: String(ALICE) })
  t.match(event.details, {
    converted_from_id: legacy.id, legacy_name: 'deploy script', legacy_scopes: ['api'], source: 'given', grace_days: 14, permissions: ['read_code'],
    targets: ['project acme/platform/api'], kind: 'fine_grained',
  })
  t.notOk(JSON.stringify(event.details).includes(successor.token!), 'no secret in the audit event')
  t.notOk(ctx.logs.text.includes(successor.token!), 'nor in the logs')

  const again = await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'already_converted', successor_id: successor.id })
  t.match(again.json().detail, `successor is token ${successor.id}`)

  const rotate = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotate.statusCode, 409, 'a legacy token under conversion is not rotated into a new legacy token')
  t.equal(rotate.json().code, 'token_being_converted')

  // Revoking the legacy token early by hand just works; the successor is unaffected.
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${legacy.id}`, headers: await asUser(ctx, ALICE) })).statusCode, 204)
  t.equal((await authorize(legacy.token!, 'read_code', { type: 'project', id: API_PROJECT })).reason, 'token_revoked')
  t.equal((await authorize(successor.token!, 'read_code', { type: 'project', id: API_PROJECT })).allowed, true)
})

t.test('grace_days, name, expiry; the grace is bounded by the instance setting', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const admin = await asUser(ctx, ADMIN)
  const settings = await ctx.app.inject({ url: '/api/v4/application/settings/personal_access_tokens', headers: admin })
  t.equal(settings.json().legacy_conversion_grace_days, 14, 'default 14')
  for (const bad of [-1, 91, 'x']) {
    const res = await ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: admin, payload: { legacy_conversion_grace_days: bad } })
    t.equal(res.statusCode, 400, `grace ${bad} refused`)
    t.match(res.json().errors, [{ path: 'body.legacy_conversion_grace_days' }])
  }
  const put = await ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: admin, payload: { legacy_conversion_grace_days: 5 } })
  t.equal(put.statusCode, 200, put.body)
  t.equal(put.json().legacy_conversion_grace_days, 5)
  const audit = await ctx.app.db.selectFrom('audit_events').select('details').where('action', '=', 'policy.instance_updated').executeTakeFirstOrThrow()
  t.same(audit.details, { changes: { legacy_conversion_grace_days: { from: 14, to: 5 } } }, 'the change is audited')

  const legacy = await createToken(ctx, ALICE, { scopes: ['read_api'], granular_scopes: undefined })
  const tooLong = await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi, grace_days: 6 })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json(), { code: 'grace_beyond_policy', errors: [{ path: 'body.grace_days', message: 'must be at most 5 days (instance setting legacy_conversion_grace_days)' }] })
  t.equal((await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi, grace_days: 91 })).statusCode, 400, 'beyond 90 by schema')

  const res = await convert(ctx, legacy.id, await asUser(ctx, ALICE), { granular_scopes: readOnApi, grace_days: 2, name: 'narrow', expires_at: inDays(20) })
  t.equal(res.statusCode, 201, res.body)
  const successor = res.json() as Converted
  t.match(successor, { name: 'narrow', expires_at: inDays(20) })
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select(['conversion_grace_ends_at', 'conversion_reminder_at']).where('id', '=', legacy.id).executeTakeFirstOrThrow()
  const graceMs = row.conversion_grace_ends_at!.getTime() - Date.now()
  t.ok(graceMs > 2 * DAY - 60_000 && graceMs <= 2 * DAY, 'two days of grace')
  t.not(row.conversion_reminder_at, null, 'a grace within the reminder window needs no reminder: the conversion mail names the date')
})

t.test('refusals: fine-grained, revoked, expired, policy, invalid scopes, broader than a PAT caller; 404 for other people\'s tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const alice = await asUser(ctx, ALICE)

  const fine = await createToken(ctx, ALICE)
  const notLegacy = await convert(ctx, fine.id, alice, { granular_scopes: readOnApi })
  t.equal(notLegacy.statusCode, 409)
  t.equal(notLegacy.json().code, 'not_a_legacy_token')

  const revoked = await createToken(ctx, ALICE, { scopes: ['api'], granular_scopes: undefined })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${revoked.id}`, headers: alice })
  const r1 = await convert(ctx, revoked.id, alice, { granular_scopes: readOnApi })
  t.equal(r1.statusCode, 409)
  t.equal(r1.json().code, 'token_revoked')

  const expired = await createToken(ctx, ALICE, { scopes: ['api'], granular_scopes: undefined })
  await sql`update personal_access_tokens set expires_at = ${inDays(-1)}::date where id = ${expired.id}`.execute(ctx.app.db)
  const r2 = await convert(ctx, expired.id, alice, { granular_scopes: readOnApi })
  t.equal(r2.statusCode, 409)
  t.equal(r2.json().code, 'token_expired')

  const legacy = await createToken(ctx, ALICE, { scopes: ['api'], granular_scopes: undefined })
  const invalid = await convert(ctx, legacy.id, alice, { granular_scopes: [{ access: 'selected_memberships', project_ids: [9999], permissions: ['read_code'] }] })
  t.equal(invalid.statusCode, 400)
  t.match(invalid.json(), { code: 'namespace_not_found', errors: [{ path: 'body.granular_scopes[0].project_ids[0]' }] })
  const empty = await convert(ctx, legacy.id, alice, { granular_scopes: [] })
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().code, 'empty_scopes')

  // Policy: a permission blocked on acme refuses a successor that would hold it there (4xx, nothing written).
  await ctx.app.inject({ method: 'PUT', url: `/api/v4/groups/${ACME}/personal_access_token_policy`, headers: await asUser(ctx, ADMIN), payload: { blocked_permissions: ['read_code'] } })
  const blocked = await convert(ctx, legacy.id, alice, { granular_scopes: readOnApi })
  t.equal(blocked.statusCode, 400)
  t.equal(blocked.json().code, 'policy_violation')
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select('conversion_grace_ends_at').where('id', '=', legacy.id).executeTakeFirstOrThrow()
  t.equal(row.conversion_grace_ends_at, null, 'a refused conversion changes nothing')
  t.equal((await ctx.app.db.selectFrom('personal_access_tokens').select('id').where('converted_from_id', '=', legacy.id).execute()).length, 0)

  // Someone else's token: 404 whether it exists or not; an admin may convert it.
  const bobs = await createToken(ctx, BOB, { scopes: ['read_api'], granular_scopes: undefined })
  const other = await convert(ctx, bobs.id, alice, { granular_scopes: readOnApi })
  t.equal(other.statusCode, 404)
  t.equal(other.json().code, 'not_found')
  t.equal((await convert(ctx, 999999, alice, { granular_scopes: readOnApi })).statusCode, 404)
  const byAdmin = await convert(ctx, bobs.id, await asUser(ctx, ADMIN), { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  t.equal(byAdmin.statusCode, 201, byAdmin.body)
  t.match(byAdmin.json(), { user_id: BOB, converted_from: bobs.id })

  // A PAT caller needs create_personal_access_token, and cannot grant beyond itself.
  const reader = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_personal_access_token'] }] })
  const noScope = await convert(ctx, legacy.id, patHeader(reader.token!), { granular_scopes: readOnApi })
  t.equal(noScope.statusCode, 403)
  t.equal(noScope.json().code, 'insufficient_scope')
  const creator = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['create_personal_access_token'] }] })
  const broader = await convert(ctx, legacy.id, patHeader(creator.token!), { granular_scopes: [{ access: 'selected_memberships', project_ids: [WEBSITE], permissions: ['read_issue'] }] })
  t.equal(broader.statusCode, 403)
  t.equal(broader.json().code, 'broader_than_caller')

  const bad = await convert(ctx, legacy.id, alice, { granular_scopes: readOnApi, extra: 1 })
  t.equal(bad.statusCode, 400, 'unknown fields are refused')
})
