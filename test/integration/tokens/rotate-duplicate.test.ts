import t from 'tap'
import { build, manualClock } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'

t.test('rotate: new secret, same name and scopes, old one revoked and linked', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const old = await createToken(ctx, ALICE, { name: 'ci', description: 'nightly', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', group_ids: [ACME], permissions: ['read_code', 'run_job'] }] })
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${old.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(res.statusCode, 200)
  const rotated = res.json() as TokenJson
  t.not(rotated.id, old.id)
  t.not(rotated.token, old.token)
  t.match(rotated, { name: 'ci', description: 'nightly', previous_personal_access_token_id: old.id, state: 'active', expires_at: inDays(30) })
  t.same(rotated.granular_scopes, old.granular_scopes)
  const oldNow = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${old.id}`, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.match(oldNow, { state: 'revoked', revoke_reason: 'rotated' })
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(rotated.token!) })).statusCode, 200, 'new secret works')

  const withExpiry = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotated.id}/rotate`, headers: await asUser(ctx, ALICE), payload: { expires_at: inDays(7) } })
  t.equal(withExpiry.statusCode, 200)
  t.equal(withExpiry.json().expires_at, inDays(7))
  const tooLong = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${withExpiry.json().id}/rotate`, headers: await asUser(ctx, ALICE), payload: { expires_at: inDays(500) } })
  t.equal(tooLong.statusCode, 400)
  t.equal(tooLong.json().code, 'expiry_beyond_max_lifetime')
  t.equal((await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${old.id}/rotate`, headers: await asUser(ctx, BOB) })).statusCode, 404)
  const audit = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.rotated').execute()
  t.equal(audit.length, 2)
  // Last: presenting the old secret is reuse, which revokes the chain (reuse-detection.test.ts).
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(old.token!) })).statusCode, 401, 'old secret is dead')
})

t.test('reusing a rotated-away token revokes the whole chain', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const first = await createToken(ctx, ALICE)
  const second = (await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(first.token!) }))
  t.equal(second.statusCode, 403, 'self-rotation needs the rotate permission in the token')
  const rotating = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['rotate_personal_access_token'] }] })
  const next = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/self/rotate', headers: patHeader(rotating.token!), payload: {} })
  t.equal(next.statusCode, 200, next.body)
  const nextToken = next.json() as TokenJson
  const reuse = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotating.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(reuse.statusCode, 400)
  t.equal(reuse.json().code, 'token_reused')
  const shown = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${nextToken.id}`, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.match(shown, { state: 'revoked', revoke_reason: 'reuse_detected' }, 'the live successor is revoked too')
  const untouched = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${first.id}`, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.equal(untouched.state, 'active', 'other families are untouched')
  const revokedOther = await createToken(ctx, ALICE)
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${revokedOther.id}`, headers: await asUser(ctx, ALICE) })
  const rotateRevoked = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${revokedOther.id}/rotate`, headers: await asUser(ctx, ALICE) })
  t.equal(rotateRevoked.json().code, 'token_revoked')
})

t.test('duplicate: same permissions and reach, new secret, original untouched', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const original = await createToken(ctx, ALICE, { name: 'reader', description: 'd', expires_at: inDays(60) })
  const dup = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, ALICE) })
  t.equal(dup.statusCode, 201)
  const copy = dup.json() as TokenJson
  t.match(copy, { name: 'reader (copy)', description: 'd', duplicated_from_id: original.id, expires_at: inDays(60), state: 'active' })
  t.same(copy.granular_scopes, original.granular_scopes)
  t.match(copy.token, /^fgpat-/)
  t.not(copy.token, original.token)
  const renamed = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, ALICE), payload: { name: 'reader 2', expires_at: inDays(5) } })
  t.match(renamed.json(), { name: 'reader 2', expires_at: inDays(5) })
  const stillThere = (await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${original.id}`, headers: await asUser(ctx, ALICE) })).json() as TokenJson
  t.equal(stillThere.state, 'active')
  t.equal((await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, BOB) })).statusCode, 404)

  // The owner left the project: a duplicate would grant what they no longer have.
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/directory/namespaces/${API_PROJECT}/members/${ALICE}`, headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` } })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/directory/namespaces/${ACME}/members/${ALICE}`, headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` } })
  const stale = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, ALICE) })
  t.equal(stale.statusCode, 400)
  t.equal(stale.json().code, 'no_membership')
  const byAdmin = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${original.id}/duplicate`, headers: await asUser(ctx, ADMIN) })
  t.equal(byAdmin.statusCode, 400, 'the owner\'s memberships count, even when an admin asks')
})

t.test('edit: name, description, expiry and scopes change; the secret stays', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { name: 'before', expires_at: inDays(10) })
  const url = `/api/v4/personal_access_tokens/${token.id}`
  const res = await ctx.app.inject({
    method: 'PATCH', url, headers: await asUser(ctx, ALICE),
    payload: { name: 'after', description: 'now with push', expires_at: inDays(40), granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code', 'push_code'] }] },
  })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: token.id, name: 'after', description: 'now with push', expires_at: inDays(40) })
  t.notOk('token' in res.json(), 'no new secret')
  t.same(res.json().granular_scopes[0].permissions, ['push_code', 'read_code'])
  const row = await ctx.app.db.selectFrom('personal_access_tokens').select(['version']).where('id', '=', token.id).executeTakeFirstOrThrow()
  t.equal(row.version, 2, 'the change bumps the version the caches key on')
  const audit = await ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', 'token.updated').executeTakeFirstOrThrow()
  t.match(audit.details, { changes: { name: { from: 'before', to: 'after' }, granular_scopes: { permissions_added: ['push_code'], permissions_removed: [] } } })
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(token.token!) })).json().name, 'after', 'same secret, new settings')

  const cases: [Record<string, unknown>, string][] = [
    [{ expires_at: inDays(-1) }, 'expiry_in_past'],
    [{ expires_at: inDays(400) }, 'expiry_beyond_max_lifetime'],
    [{ name: ' ' }, 'validation_failed'],
    [{ granular_scopes: [] }, 'empty_scopes'],
    [{ granular_scopes: [{ access: 'selected_memberships', project_ids: [9999], permissions: ['read_code'] }] }, 'namespace_not_found'],
    [{ scopes: ['api'] }, 'validation_failed'],
  ]
  for (const [payload, code] of cases) {
    const bad = await ctx.app.inject({ method: 'PATCH', url, headers: await asUser(ctx, ALICE), payload })
    t.equal(bad.statusCode, 400, `${JSON.stringify(payload)} → 400`)
    t.equal(bad.json().code, code)
  }
  t.equal((await ctx.app.inject({ method: 'PATCH', url, headers: await asUser(ctx, BOB), payload: { name: 'x' } })).statusCode, 404)
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['read_api'] })
  const legacyEdit = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${legacy.id}`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] } })
  t.equal(legacyEdit.json().code, 'legacy_scopes_immutable')
  await ctx.app.inject({ method: 'DELETE', url, headers: await asUser(ctx, ALICE) })
  const revokedEdit = await ctx.app.inject({ method: 'PATCH', url, headers: await asUser(ctx, ALICE), payload: { name: 'zombie' } })
  t.equal(revokedEdit.statusCode, 400)
  t.equal(revokedEdit.json().code, 'token_revoked')
})

t.test('preview: validates and shows the reach without storing anything', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const res = await ctx.app.inject({
    method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: [{ access: 'selected_memberships', group_ids: [101], permissions: ['run_job'] }, { access: 'user', permissions: ['read_user'] }] },
  })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.valid, true)
  t.same(body.permissions.map((p: { name: string }) => p.name), ['cancel_job', 'play_job', 'read_user', 'retry_job', 'run_job'])
  t.ok(body.permissions.every((p: { title: string }) => /: /.test(p.title)))
  t.same(body.groups.map((g: { full_path: string }) => g.full_path), ['acme/platform', 'acme/platform/infra'])
  t.same(body.projects.map((p: { full_path: string }) => p.full_path), ['acme/platform/api', 'acme/platform/infra/terraform'])
  t.equal(body.user, true)
  t.equal(body.instance, false)
  const invalid = await ctx.app.inject({
    method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: [{ access: 'selected_memberships', group_ids: [4242], permissions: ['nope'] }] },
  })
  t.equal(invalid.statusCode, 200)
  t.equal(invalid.json().valid, false)
  t.same(invalid.json().errors.map((e: { code: string }) => e.code).sort(), ['namespace_not_found', 'unknown_permission'])
  const legacy = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, BOB), payload: { scopes: ['read_repository'] } })
  t.ok(legacy.json().permissions.some((p: { name: string }) => p.name === 'read_code'))
  t.ok(legacy.json().projects.some((p: { full_path: string }) => p.full_path === 'opensource/cli'), 'legacy tokens reach every membership')
  const forOther = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, ALICE), payload: { user_id: BOB, scopes: ['read_api'] } })
  t.equal(forOther.statusCode, 404)
  const adminFor = await ctx.app.inject({ method: 'POST', url: '/api/v4/personal_access_tokens/preview', headers: await asUser(ctx, ADMIN), payload: { user_id: BOB, scopes: ['read_api'] } })
  t.equal(adminFor.statusCode, 200)
  const count = await ctx.app.db.selectFrom('personal_access_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0)
})

t.test('a repeated rotation by the same caller is a retry: one successor, nothing revoked', async (t) => {
  const clock = manualClock()
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  const headers = await asUser(ctx, ALICE)
  // a double click, a client retrying after a lost response: ten at once
  const answers = await Promise.all(Array.from({ length: 10 }, () => ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, headers })))
  const rotated = answers.filter((r) => r.statusCode === 200)
  t.equal(rotated.length, 1, 'exactly one rotation')
  const successor = rotated[0].json() as TokenJson
  const retries = answers.filter((r) => r.statusCode !== 200)
  t.equal(retries.length, 9)
  for (const r of retries) {
    t.equal(r.statusCode, 409)
    t.match(r.json(), { code: 'already_rotated', successor_id: successor.id })
    t.notMatch(r.body, successor.token!, 'a retry never carries the secret')
  }
  t.match(retries[0].json().detail, `successor is token ${successor.id}`)
  t.equal((await ctx.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: patHeader(successor.token!) })).statusCode, 200, 'the successor works')
  const family = await ctx.app.db.selectFrom('personal_access_tokens').select(['id', 'revoked_at', 'revoke_reason']).where('family_id', '=', token.id).orderBy('id').execute()
  t.same(family.map((r) => [r.id, r.revoke_reason]), [[token.id, 'rotated'], [successor.id, null]], 'one successor, active; nothing revoked for reuse')
  t.equal(await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.rotated').execute().then((r) => r.length), 1, 'one rotation audited')

  // Someone else rotating the rotated-away token, even at once, is not a retry: reuse (as GitLab).
  const admin = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, headers: await asUser(ctx, ADMIN) })
  t.equal(admin.json().code, 'token_reused', 'another caller: reuse')

  // The same caller after the leeway (60 s by default): reuse too.
  const later = await createToken(ctx, ALICE)
  t.equal((await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${later.id}/rotate`, headers })).statusCode, 200)
  clock.set(new Date(clock().getTime() + 59_000))
  t.equal((await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${later.id}/rotate`, headers })).json().code, 'already_rotated', '59 s later: still a retry')
  clock.set(new Date(clock().getTime() + 2_000))
  const late = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${later.id}/rotate`, headers })
  t.equal(late.statusCode, 400)
  t.equal(late.json().code, 'token_reused', '61 s later: reuse, the chain is revoked')
})
