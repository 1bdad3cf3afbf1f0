// Approval of tokens that reach a group (GitHub's fine-grained PAT requests): a top-level group
// whose policy sets require_approval denies a token that gained reach into it (approval_pending)
// until one of its owners approves; elsewhere the token works. Requests are listed, approved and
// denied by the group's owners only (404 to anyone else), mailed, audited, carried over rotation,
// and lapse after APPROVAL_REQUEST_DAYS.
import t from 'tap'
import { manualClock, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, inDays, OPENSOURCE } from '../../helpers/fixtures.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { flat, setUpJobs, waitForDeliveries } from '../jobs/setup.js'
import { putGroup } from './helpers.js'

// Bob owns opensource (200); Alice is a reporter there and a developer on acme (100).
const project = (id: number) => ({ type: 'project', id })
const readCode = (projectIds: number[]) => [{ access: 'selected_memberships', project_ids: projectIds, permissions: ['read_code'] }]
const requestsUrl = (group: number, query = '') => `/api/v4/groups/${group}/personal_access_token_requests${query}`

async function listRequests(ctx: TestContext, who: number, group = OPENSOURCE, query = '') {
  return ctx.app.inject({ url: requestsUrl(group, query), headers: await asUser(ctx, who) })
}
async function settle(ctx: TestContext, who: number, requestId: number, outcome: 'approve' | 'deny', payload: Record<string, unknown> = {}, group = OPENSOURCE) {
  return ctx.app.inject({ method: 'POST', url: requestsUrl(group, `/${requestId}/${outcome}`), headers: await asUser(ctx, who), payload })
}
async function rotate(ctx: TestContext, id: number) {
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${id}/rotate`, headers: await asUser(ctx, ALICE) })
  if (res.statusCode !== 200) throw new Error(`rotate answered ${res.statusCode}: ${res.body}`)
  return res.json() as TokenJson
}
const events = (ctx: TestContext, action: string) =>
  ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute()

t.test('a member\'s new token: pending in the group, working elsewhere; approved by an owner; rotation keeps it; mails and audit', async (t) => {
  const { ctx, smtp } = await setUpJobs(t)
  const authorize = await authorizer(ctx)
  const before = await createToken(ctx, ALICE, { name: 'older', granular_scopes: readCode([API_PROJECT, CLI_PROJECT]) })

  const policy = await putGroup(ctx, OPENSOURCE, { require_approval: true }, BOB)
  t.equal(policy.statusCode, 200, policy.body)
  t.equal(policy.json().require_approval, true)
  t.equal((await ctx.app.inject({ url: `/api/v4/groups/${ACME}/personal_access_token_policy`, headers: await asUser(ctx, ADMIN) })).json().require_approval, false, 'default false')
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: 'yes' }, BOB)).statusCode, 400, 'a boolean')

  const token = await createToken(ctx, ALICE, { name: 'release bot', granular_scopes: readCode([API_PROJECT, CLI_PROJECT]), approval_reason: 'publishes the CLI release notes' })
  t.match(await authorize(token.token!, 'read_code', project(CLI_PROJECT)), { allowed: false, reason: 'approval_pending', token: { id: token.id } }, 'denied in the group')
  t.equal((await authorize(token.token!, 'read_code', { type: 'group', id: OPENSOURCE })).reason, 'approval_pending', 'on the group itself too (before scope matching)')
  t.equal((await authorize(token.token!, 'read_code', project(API_PROJECT))).allowed, true, 'elsewhere it works')
  t.equal((await authorize(before.token!, 'read_code', project(CLI_PROJECT))).allowed, true, 'a token from before the policy is not affected')

  // Only owners of the group (and administrators) see the requests; to everyone else: 404.
  for (const who of [ALICE, CAROL]) t.equal((await listRequests(ctx, who)).statusCode, 404, `user ${who}: 404`)
  t.equal((await settle(ctx, ALICE, 1, 'approve')).statusCode, 404, 'the requester cannot approve herself')
  t.equal((await listRequests(ctx, BOB, ACME)).statusCode, 404, 'Bob does not own acme')
  const listed = await listRequests(ctx, BOB, OPENSOURCE, '?state=pending')
  t.equal(listed.statusCode, 200, listed.body)
  t.equal(listed.headers['x-total'], '1')
  const [request] = listed.json()
  t.match(request, {
    group_id: OPENSOURCE, full_path: 'opensource', state: 'pending', reason: 'publishes the CLI release notes',
    token: { id: token.id, name: 'release bot' }, requester: { id: ALICE, username: 'alice' }, decided_by: null,
  })
  t.equal((await listRequests(ctx, BOB, OPENSOURCE, '?state=approved')).json().length, 0, 'filtered by state')
  t.equal((await listRequests(ctx, ADMIN)).json().length, 1, 'administrators see them')
  t.equal((await listRequests(ctx, BOB, OPENSOURCE, '?state=nope')).statusCode, 400)
  t.equal((await settle(ctx, BOB, request.id + 1000, 'approve')).statusCode, 404, 'unknown request')

  // Rotation while pending: the request follows the successor.
  const rotated = await rotate(ctx, token.id)
  t.equal((await authorize(rotated.token!, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'the successor is still pending')
  t.equal((await listRequests(ctx, BOB)).json()[0].token.id, rotated.id, 'the request now names the successor')

  const approved = await settle(ctx, BOB, request.id, 'approve', { comment: 'ok for releases' })
  t.equal(approved.statusCode, 200, approved.body)
  t.match(approved.json(), { state: 'approved', decided_by: `user:${BOB}`, comment: 'ok for releases' })
  t.equal((await authorize(rotated.token!, 'read_code', project(CLI_PROJECT))).allowed, true, 'approved: allowed at once')
  t.equal((await settle(ctx, BOB, request.id, 'approve')).statusCode, 200, 'approving again is a no-op')
  t.equal((await settle(ctx, BOB, request.id, 'deny')).json().code, 'request_already_decided', 'a decided request stays decided')

  const again = await rotate(ctx, rotated.id)
  t.equal((await authorize(again.token!, 'read_code', project(CLI_PROJECT))).allowed, true, 'rotation keeps the approval')

  t.equal((await events(ctx, 'token.approval_requested')).length, 1, 'one request event')
  t.match(await events(ctx, 'token.approval_requested'), [{ target_id: String(token.id), namespace_id: OPENSOURCE, details: { reason: 'publishes the CLI release notes', group_id: OPENSOURCE } }])
  t.match(await events(ctx, 'token.approval_approved'), [{ actor_id: String(BOB), target_id: String(rotated.id), details: { comment: 'ok for releases' } }])
  t.equal((await events(ctx, 'token.approval_approved')).length, 1, 'the no-op records nothing')

  await waitForDeliveries(ctx, (await ctx.app.db.selectFrom('audit_events').select('id').where('action', 'in', ['token.approval_requested', 'token.approval_approved']).execute()).length)
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && !smtp.mails.some((m) => m.event === 'token.approval_approved')) await new Promise((r) => setTimeout(r, 50))
  const toOwners = smtp.mails.find((m) => m.event === 'token.approval_requested')
  t.ok(toOwners, 'the owners were mailed')
  t.same(toOwners?.to, ['bob@example.com'], 'to the owners of the group')
  t.match(flat(toOwners?.text), /Alice \(@alice\).*opensource.*publishes the CLI release notes/)
  const outcome = smtp.mails.find((m) => m.event === 'token.approval_approved')
  t.same(outcome?.to, ['alice@example.com'], 'the requester hears the outcome')
  t.match(flat(outcome?.text), /approved.*ok for releases/)
  // Other mails (created, rotated) may still be arriving: one assertion over those received so far,
  // so the test's count does not depend on how many there are.
  const secrets = [token.token!, rotated.token!, again.token!]
  const leaking = smtp.mails.filter((m) => secrets.some((secret) => m.raw.includes(secret))).map((m) => m.event)
  t.same(leaking, [], `no secret in any of the ${smtp.mails.length} mails received`)
})

t.test('deny keeps it denied; duplicate and a widening edit ask again; switching the policy off lifts pending denies', async (t) => {
  const { ctx } = await setUpJobs(t)
  const authorize = await authorizer(ctx)
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: true }, BOB)).statusCode, 200)
  const token = await createToken(ctx, ALICE, { granular_scopes: readCode([CLI_PROJECT]) })
  const [request] = (await listRequests(ctx, BOB)).json()
  const denied = await settle(ctx, BOB, request.id, 'deny', { comment: 'use the bot account' })
  t.match(denied.json(), { state: 'denied', comment: 'use the bot account' })
  t.equal((await authorize(token.token!, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'denied stays denied')
  t.equal((await settle(ctx, BOB, request.id, 'approve')).statusCode, 409, 'and cannot be approved afterwards')
  t.equal((await events(ctx, 'token.approval_denied')).length, 1)

  // A duplicate is a new token: a new request.
  const dup = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/duplicate`, headers: await asUser(ctx, ALICE), payload: { approval_reason: 'second try' } })
  t.equal(dup.statusCode, 201, dup.body)
  t.equal((await authorize(dup.json().token, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending')
  t.match((await listRequests(ctx, BOB, OPENSOURCE, '?state=pending')).json(), [{ token: { id: dup.json().id }, reason: 'second try' }])

  // An edit that widens a token into the group asks too; one that stays outside does not.
  const narrow = await createToken(ctx, ALICE, { granular_scopes: readCode([API_PROJECT]) })
  t.equal((await authorize(narrow.token!, 'read_code', project(API_PROJECT))).allowed, true)
  const widened = await ctx.app.inject({
    method: 'PATCH', url: `/api/v4/personal_access_tokens/${narrow.id}`, headers: await asUser(ctx, ALICE),
    payload: { granular_scopes: readCode([API_PROJECT, CLI_PROJECT]), approval_reason: 'needs the CLI too' },
  })
  t.equal(widened.statusCode, 200, widened.body)
  t.equal((await authorize(narrow.token!, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'widened: pending in the new group')
  t.equal((await authorize(narrow.token!, 'read_code', project(API_PROJECT))).allowed, true, 'still working where it was')
  t.equal((await listRequests(ctx, BOB, OPENSOURCE, '?state=pending')).json().length, 2)
  t.equal((await listRequests(ctx, BOB, OPENSOURCE, '?per_page=1&page=2')).headers['x-total'], '3', 'GitLab-style pagination')
  t.equal((await listRequests(ctx, BOB, OPENSOURCE, '?per_page=1&page=2')).json().length, 1)

  // A legacy token reaches every group of its owner: pending there too; converting it does not bypass the owners.
  const legacy = await createToken(ctx, ALICE, { scopes: ['read_api'], granular_scopes: undefined })
  t.equal((await authorize(legacy.token!, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'legacy: pending')
  const converted = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${legacy.id}/convert`, headers: await asUser(ctx, ALICE), payload: { granular_scopes: readCode([CLI_PROJECT]) } })
  t.equal(converted.statusCode, 201, converted.body)
  t.equal((await authorize(converted.json().token, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'its fine-grained successor starts where it stood')

  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: false }, BOB)).statusCode, 200)
  t.equal((await authorize(narrow.token!, 'read_code', project(CLI_PROJECT))).allowed, true, 'the policy off: the group no longer asks')
})

t.test('pending requests lapse after 30 days: expired, still denied, the requester mailed', async (t) => {
  const clock = manualClock(new Date())
  const { ctx, smtp, worker } = await setUpJobs(t, { clock })
  const authorize = await authorizer(ctx)
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: true }, BOB)).statusCode, 200)
  const token = await createToken(ctx, ALICE, { granular_scopes: readCode([CLI_PROJECT]), expires_at: inDays(300) })
  clock.advanceDays(29)
  t.equal((await worker.runSweep()).approvalsExpired, 0, 'not yet')
  clock.advanceDays(1.5)
  t.equal((await worker.runSweep()).approvalsExpired, 1)
  t.equal((await worker.runSweep()).approvalsExpired, 0, 'once')
  const [request] = (await listRequests(ctx, BOB)).json()
  t.match(request, { state: 'expired', decided_by: null })
  t.equal((await authorize(token.token!, 'read_code', project(CLI_PROJECT))).reason, 'approval_pending', 'still denied')
  t.equal((await settle(ctx, BOB, request.id, 'approve')).statusCode, 409, 'too late to approve')
  t.match(await events(ctx, 'token.approval_expired'), [{ actor_type: 'system', target_id: String(token.id), namespace_id: OPENSOURCE }])
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && !smtp.mails.some((m) => m.event === 'token.approval_expired')) await new Promise((r) => setTimeout(r, 50))
  t.same(smtp.mails.find((m) => m.event === 'token.approval_expired')?.to, ['alice@example.com'])
})
