// Least privilege from evidence: tokens exercised through POST /authorize with a known pattern get
// the recommendation that pattern implies; too little evidence gets none; applying it is one call
// through the edit path (validated, audited, mailed).
import t from 'tap'
import { build, manualClock, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import {
  ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CLI_PROJECT, inDays, PLATFORM, seedDirectory, TERRAFORM, WEBSITE,
} from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'
import { flat, setUpJobs } from '../jobs/setup.js'

const TWELVE = [
  'read_code', 'push_code', 'create_merge_request', 'read_merge_request', 'read_issue', 'create_issue',
  'read_pipeline', 'read_job', 'read_release', 'read_wiki', 'read_package', 'read_container_image',
]
const project = (id: number) => ({ type: 'project', id })

/** Two more projects in acme, so that alice's two used projects there are not "most" of it (5 reachable). */
async function widenAcme(ctx: TestContext) {
  const headers = { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }
  for (const [id, path] of [[106, 'docs'], [107, 'blog']] as const) {
    const res = await ctx.app.inject({ method: 'PUT', url: `/api/v4/directory/namespaces/${id}`, headers, payload: { kind: 'project', path, parent_id: ACME } })
    if (res.statusCode !== 200) throw new Error(`adding project ${id}: ${res.statusCode} ${res.body}`)
  }
}

async function recommendation(ctx: TestContext, tokenId: number, as = ALICE, query = '') {
  return ctx.app.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${tokenId}/recommendation${query}`, headers: await asUser(ctx, as) })
}

/** Usage rows written straight into the real table, for windows longer than a test can wait. */
async function usageRows(ctx: TestContext, tokenId: number, rows: { day: string; permission: string; namespace_id: number; allowed: number; denied?: number }[]) {
  await ctx.app.db.insertInto('token_usage_daily').values(rows.map((r) => ({ token_id: tokenId, denied: 0, ...r }))).execute()
}

/** The pattern of the example: read_code on 102 and 103, create_merge_request on 102, one denied attempt, on each of 3 days. */
async function exercise(ctx: TestContext, clock: ReturnType<typeof manualClock>, secret: string) {
  const authorize = await authorizer(ctx)
  for (let day = 0; day < 3; day++) {
    for (let i = 0; i < 3; i++) t.equal((await authorize(secret, 'read_code', project(API_PROJECT))).allowed, true)
    for (let i = 0; i < 2; i++) t.equal((await authorize(secret, 'read_code', project(WEBSITE))).allowed, true)
    t.equal((await authorize(secret, 'create_merge_request', project(API_PROJECT))).allowed, true)
    const denied = await authorize(secret, 'delete_project', project(API_PROJECT))
    t.equal(denied.reason, 'permission_not_granted')
    await ctx.app.usage.flush()
    clock.advanceDays(1)
  }
  clock.advanceDays(-1)
}

const EXACT = [
  { access: 'selected_memberships', permissions: ['create_merge_request', 'read_code'], project_ids: [API_PROJECT] },
  { access: 'selected_memberships', permissions: ['read_code'], project_ids: [WEBSITE] },
]

t.test('a pattern seen through /authorize over 3 days gets exactly the scopes it implies', async (t) => {
  const clock = manualClock(new Date(`${inDays(-5)}T09:00:00Z`))
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  await widenAcme(ctx)
  const token = await createToken(ctx, ALICE, { expires_at: inDays(60), granular_scopes: [{ access: 'all_memberships', permissions: TWELVE }] })
  await exercise(ctx, clock, token.token!)

  const res = await recommendation(ctx, token.id)
  t.equal(res.statusCode, 200, res.body)
  const r = res.json()
  t.same(r.recommended_granular_scopes, EXACT)
  t.equal(r.reason, null)
  t.same(r.evidence, { allowed: 18, denied: 3, days: 3 })
  t.equal(r.confidence, 'low')
  t.equal(r.summary, '12 permissions on all memberships (6 projects) → 2 permissions on 2 projects')
  t.same(r.used.map((u: { permission: string; allowed: number }) => [u.permission, u.allowed]), [['read_code', 15], ['create_merge_request', 3]])
  t.same(r.used[0].namespaces.map((n: { namespace_id: number; count: number; days: number }) => [n.namespace_id, n.count, n.days]), [[API_PROJECT, 9, 3], [WEBSITE, 6, 3]])
  t.same(r.denied, [{ permission: 'delete_project', title: r.denied[0].title, denied: 3, held: false, namespaces: [{ namespace_id: API_PROJECT, kind: 'project', full_path: 'acme/platform/api', count: 3 }] }])
  t.notOk(JSON.stringify(r.recommended_granular_scopes).includes('delete_project'), 'a denied permission is not recommended')
  t.same(r.unused.map((u: { permission: string }) => u.permission), TWELVE.filter((p) => p !== 'read_code' && p !== 'create_merge_request').sort())
  t.same(r.collapsed, [])
  t.equal(r.already_least_privilege, false)
  t.equal(r.preview.valid, true, 'the recommended scopes preview as valid')
  t.same(r.preview.projects.map((p: { id: number }) => p.id).sort(), [API_PROJECT, WEBSITE])
  t.match(r.apply, { available: true, method: 'POST', path: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, body: { days: 30, expected_version: r.version } })
})

t.test('most of a group\'s projects used → the group; user-boundary use → the user scope', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { expires_at: inDays(60), granular_scopes: [
    { access: 'all_memberships', permissions: ['read_code', 'read_issue'] },
    { access: 'user', permissions: ['read_user', 'read_email'] },
  ] })
  const days = [inDays(-1), inDays(-2), inDays(-3)]
  await usageRows(ctx, token.id, days.flatMap((day) => [
    { day, permission: 'read_code', namespace_id: API_PROJECT, allowed: 4 },
    { day, permission: 'read_code', namespace_id: TERRAFORM, allowed: 4 },
    { day, permission: 'read_user', namespace_id: 0, allowed: 2 },
  ]))
  const r = (await recommendation(ctx, token.id)).json()
  t.same(r.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['read_code'], group_ids: [PLATFORM] },
    { access: 'user', permissions: ['read_user'] },
  ], 'api and terraform are both projects alice reaches in acme/platform: collapsed to it')
  t.same(r.collapsed, [{ group_id: PLATFORM, full_path: 'acme/platform', permissions: ['read_code'], used_projects: 2, reachable_projects: 2 }])
  t.match(r.notes.join(' '), /collapsed to group acme\/platform — 2 of its 2 reachable projects were used/)
  t.same(r.used.find((u: { permission: string }) => u.permission === 'read_user').namespaces, [{ namespace_id: null, kind: 'user', full_path: null, count: 6, days: 3 }])
  t.same(r.unused.map((u: { permission: string }) => u.permission), ['read_email', 'read_issue'])
})

t.test('too little evidence: nothing recommended, and the reason says so', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code', 'push_code'] }] })
  const authorize = await authorizer(ctx)
  for (let i = 0; i < 30; i++) t.equal((await authorize(token.token!, 'read_code', project(API_PROJECT))).allowed, true)
  await ctx.app.usage.flush()
  const r = (await recommendation(ctx, token.id)).json()
  t.equal(r.recommended_granular_scopes, null, 'thirty uses on one day are one run, not a pattern')
  t.equal(r.confidence, 'none')
  t.match(r.reason, /^Too little evidence: 30 allowed decisions on 1 day in the last 30 days; a recommendation needs at least 10 allowed decisions on at least 2 different days/)
  t.equal(r.preview, null)
  t.match(r.apply, { available: false, why_not: /Too little evidence/ })
  t.same(r.used.map((u: { permission: string }) => u.permission), ['read_code'], 'what was seen is still listed')
  const apply = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, headers: await asUser(ctx, ALICE) })
  t.equal(apply.statusCode, 422)
  t.equal(apply.json().code, 'insufficient_evidence')
  t.match(apply.json().detail, /Too little evidence/)
})

t.test('the window is respected (?days=), and checked', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code', 'push_code'] }] })
  await usageRows(ctx, token.id, [
    ...[40, 41, 42].map((n) => ({ day: inDays(-n), permission: 'push_code', namespace_id: API_PROJECT, allowed: 10 })),
    ...[1, 2, 3].map((n) => ({ day: inDays(-n), permission: 'read_code', namespace_id: CLI_PROJECT, allowed: 5 })),
  ])
  const recent = (await recommendation(ctx, token.id)).json()
  t.same(recent.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [CLI_PROJECT] }])
  t.same(recent.window, { days: 30, since: inDays(-29), until: inDays(0) })
  t.same(recent.unused.map((u: { permission: string }) => u.permission), ['push_code'])
  const longer = (await recommendation(ctx, token.id, ALICE, '?days=60')).json()
  t.same(longer.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['push_code'], project_ids: [API_PROJECT] },
    { access: 'selected_memberships', permissions: ['read_code'], project_ids: [CLI_PROJECT] },
  ])
  const short = (await recommendation(ctx, token.id, ALICE, '?days=2')).json()
  t.same(short.evidence, { allowed: 5, denied: 0, days: 1 }, 'today and yesterday only')
  t.equal(short.recommended_granular_scopes, null)
  for (const bad of ['0', '366', 'x']) {
    const res = await recommendation(ctx, token.id, ALICE, `?days=${bad}`)
    t.equal(res.statusCode, 400, `days=${bad} is a 400`)
    t.match(res.headers['content-type'], 'application/problem+json')
  }
})

t.test('a legacy token gets a fine-grained recommendation from its recorded decisions', async (t) => {
  const clock = manualClock(new Date())
  const ctx = await build(t, { clock })
  await seedDirectory(ctx)
  const legacy = await createToken(ctx, ALICE, { granular_scopes: undefined, scopes: ['api'] })
  const authorize = await authorizer(ctx)
  for (let i = 0; i < 6; i++) t.equal((await authorize(legacy.token!, 'read_code', project(API_PROJECT))).allowed, true)
  await ctx.app.usage.flush()
  await usageRows(ctx, legacy.id, [{ day: inDays(-3), permission: 'read_user', namespace_id: 0, allowed: 5 }])
  const r = (await recommendation(ctx, legacy.id)).json()
  t.equal(r.kind, 'legacy')
  t.same(r.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['read_code'], project_ids: [API_PROJECT] },
    { access: 'user', permissions: ['read_user'] },
  ])
  t.ok(r.unused.length > 100, 'api expands to every permission; nearly all unused')
  t.match(r.summary, /^\d+ permissions on legacy scopes api on all memberships, personal projects and the user \(\d+ projects\) → 2 permissions on 1 project and the user$/)
  t.match(r.apply, { available: false, why_not: /legacy token/ })
  // What converting would do now, so that a client can show it before anything is created.
  t.same(r.conversion, { grace_days: 14, grace_ends_at: new Date(clock().getTime() + 14 * 86_400_000).toISOString(), path: `/api/v4/personal_access_tokens/${legacy.id}/convert` })
  const fineGrained = await createToken(ctx, ALICE)
  t.equal((await recommendation(ctx, fineGrained.id)).json().conversion, null, 'nothing to convert for a fine-grained token')
  const apply = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/recommendation/apply`, headers: await asUser(ctx, ALICE) })
  t.equal(apply.statusCode, 409)
  t.equal(apply.json().code, 'legacy_token')
})

t.test('only the owner and administrators: 404 for anyone else; PATs need read_personal_access_token', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  for (const [who, status] of [[BOB, 404], [ADMIN, 200], [ALICE, 200]] as const) {
    t.equal((await recommendation(ctx, token.id, who)).statusCode, status, `user ${who}: ${status}`)
  }
  const missing = await recommendation(ctx, 999_999)
  t.equal(missing.statusCode, 404)
  const bobApply = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, headers: await asUser(ctx, BOB) })
  t.equal(bobApply.statusCode, 404, 'nor may anyone else apply it')
  const reader = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_personal_access_token'] }] })
  const other = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  const asReader = await ctx.app.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${token.id}/recommendation`, headers: patHeader(reader.token!) })
  t.equal(asReader.statusCode, 200)
  const asOther = await ctx.app.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${token.id}/recommendation`, headers: patHeader(other.token!) })
  t.equal(asOther.statusCode, 403)
  t.equal(asOther.json().code, 'insufficient_scope')
})

t.test('apply: one call through the edit path — the pattern still allowed, the rest denied, audited, mailed; a stale version is 409', async (t) => {
  const clock = manualClock(new Date(`${inDays(-5)}T09:00:00Z`))
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  await widenAcme(ctx)
  const token = await createToken(ctx, ALICE, { name: 'ci', expires_at: inDays(60), granular_scopes: [{ access: 'all_memberships', permissions: TWELVE }] })
  await exercise(ctx, clock, token.token!)
  const r = (await recommendation(ctx, token.id)).json()
  const alice = await asUser(ctx, ALICE)
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, headers: alice, payload: { expected_version: r.version } })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.same(body.applied_granular_scopes, EXACT)
  t.same(body.token.granular_scopes, [
    { access: 'selected_memberships', permissions: ['create_merge_request', 'read_code'], project_id: API_PROJECT, group_id: null },
    { access: 'selected_memberships', permissions: ['read_code'], project_id: WEBSITE, group_id: null },
  ])
  t.equal(body.summary, r.summary)

  const authorize = await authorizer(ctx)
  t.equal((await authorize(token.token!, 'read_code', project(API_PROJECT))).allowed, true, 'the pattern is still allowed')
  t.equal((await authorize(token.token!, 'read_code', project(WEBSITE))).allowed, true)
  t.equal((await authorize(token.token!, 'create_merge_request', project(API_PROJECT))).allowed, true)
  t.equal((await authorize(token.token!, 'push_code', project(API_PROJECT))).reason, 'permission_not_granted', 'an unused permission is now denied')
  t.equal((await authorize(token.token!, 'read_code', project(TERRAFORM))).reason, 'resource_not_in_scope', 'and so is a project it never touched')

  const event = await ctx.app.db.selectFrom('audit_events').select(['details']).where('action', '=', 'token.updated').where('target_id', '=', String(token.id)).executeTakeFirstOrThrow()
  const details = event.details as { source?: string; changes?: { granular_scopes?: { permissions_removed: string[] } }; recommendation?: { confidence: string } }
  t.equal(details.source, 'recommendation')
  t.equal(details.recommendation?.confidence, 'low')
  t.ok(details.changes?.granular_scopes?.permissions_removed.includes('push_code'))

  await worker.dispatchNow()
  const mails = await smtp.waitFor(2)
  const changed = mails.find((m) => m.event === 'token.updated')
  t.ok(changed, 'the owner is mailed about the change')
  t.match(flat(changed?.text), /applied the least-privilege recommendation/)
  t.match(flat(changed?.text), /Permissions removed:/)

  const stale = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, headers: alice, payload: { expected_version: r.version } })
  t.equal(stale.statusCode, 409)
  t.equal(stale.json().code, 'stale_version')
  const again = (await recommendation(ctx, token.id)).json()
  t.equal(again.already_least_privilege, true, 'asked again, the recommendation is what it holds')
  t.match(again.summary, /already least privilege/)
  const noop = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/recommendation/apply`, headers: alice, payload: { expected_version: again.version } })
  t.equal(noop.statusCode, 409)
  t.equal(noop.json().code, 'already_least_privilege')
})
