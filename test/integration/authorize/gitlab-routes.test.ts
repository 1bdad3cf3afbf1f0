// POST /api/v4/authorize with request: {method, path} — what a GitLab-style backend forwards as it
// received it; the route table (domain/gitlab-routes.ts) names the permission and the resource.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ADMIN, ALICE, API_PROJECT, BOB, PLATFORM, seedDirectory, TERRAFORM, WEBSITE } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'

type Ctx = Awaited<ReturnType<typeof build>>

async function forwarder(ctx: Ctx) {
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  const post = (payload: object, url = '/api/v4/authorize') => ctx.app.inject({ method: 'POST', url, headers, payload })
  /** Asks about one GitLab request; answers the decision and the X-Accepted-Permissions header. */
  const ask = async (token: string, method: string, path: string, extra: object = {}) => {
    const res = await post({ token, request: { method, path }, ...extra })
    if (res.statusCode !== 200) throw new Error(`authorize answered ${res.statusCode}: ${res.body}`)
    // Every answer (decided from Redis or from L1) is typed exactly, as GitLab's are.
    if (res.headers['content-type'] !== 'application/json') throw new Error(`authorize answered Content-Type ${res.headers['content-type']}`)
    return { ...res.json(), header: res.headers['x-accepted-permissions'] }
  }
  return { post, ask }
}

t.test('GitLab requests a backend forwards: allowed and denied, with the permissions that would be accepted', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { ask } = await forwarder(ctx)
  const token = (await createToken(ctx, ALICE, {
    granular_scopes: [
      {
        access: 'selected_memberships', group_ids: [PLATFORM],
        permissions: ['read_code', 'read_merge_request', 'create_merge_request', 'read_pipeline', 'read_job_log', 'run_job', 'read_package', 'read_group_member', 'delete_project'],
      },
      { access: 'user', permissions: ['read_user'] },
    ],
  })).token!

  const file = await ask(token, 'GET', '/api/v4/projects/102/repository/files/README.md?ref=main')
  t.match(file, { allowed: true, reason: 'allowed', permission: 'read_code', resource: { type: 'project', id: API_PROJECT }, accepted_permissions: ['read_code'], header: 'read_code' })
  const byPath = await ask(token, 'GET', '/api/v4/projects/acme%2Fplatform%2Fapi/merge_requests?state=opened')
  t.match(byPath, { allowed: true, permission: 'read_merge_request', resource: { type: 'project', path: 'acme/platform/api' } }, 'a project by its URL-encoded full path')
  t.match(await ask(token, 'POST', `/api/v4/projects/${API_PROJECT}/merge_requests`), { allowed: true, permission: 'create_merge_request', accepted_permissions: ['create_merge_request', 'manage_merge_request'] })
  t.match(await ask(token, 'GET', '/api/v4/projects/102/pipelines?ref=main&status=success'), { allowed: true, permission: 'read_pipeline' })
  t.match(await ask(token, 'GET', '/api/v4/projects/102/jobs/9001/trace'), { allowed: true, permission: 'read_job_log' })
  t.match(await ask(token, 'POST', '/api/v4/projects/102/jobs/9001/play'), { allowed: true, permission: 'play_job', accepted_permissions: ['play_job', 'run_job'] }, 'granted through the run_job bundle')
  t.match(await ask(token, 'HEAD', '/api/v4/projects/102/repository/files/README.md'), { allowed: true, permission: 'read_code' }, 'HEAD as GET')
  t.match(await ask(token, 'GET', '/api/v4/projects/102/packages?package_type=npm'), { allowed: true, permission: 'read_package' })
  t.match(await ask(token, 'GET', '/api/v4/groups/acme%2Fplatform/members'), { allowed: true, permission: 'read_group_member', resource: { type: 'group', path: 'acme/platform' } })
  t.match(await ask(token, 'GET', '/api/v4/user'), { allowed: true, permission: 'read_user', resource: { type: 'user', id: ALICE } }, '/user is the token owner')

  const approve = await ask(token, 'POST', '/api/v4/projects/102/merge_requests/7/approve')
  t.match(approve, { allowed: false, reason: 'permission_not_granted', missing: ['Merge request: Approve'], permission: 'approve_merge_request', accepted_permissions: ['approve_merge_request'], header: 'approve_merge_request' })
  const publish = await ask(token, 'PUT', '/api/v4/projects/102/packages/generic/app/1.2.3/app.tgz')
  t.match(publish, { allowed: false, reason: 'permission_not_granted', accepted_permissions: ['publish_package'] })
  const website = await ask(token, 'POST', `/api/v4/projects/${WEBSITE}/merge_requests`)
  t.match(website, { allowed: false, reason: 'resource_not_in_scope', accepted_permissions: ['create_merge_request', 'manage_merge_request'], header: 'create_merge_request, manage_merge_request' })
  t.match(await ask(token, 'DELETE', `/api/v4/projects/${TERRAFORM}`), { allowed: false, reason: 'insufficient_role', permission: 'delete_project', accepted_permissions: ['delete_project'] }, 'alice is a developer there')
  t.match(await ask(token, 'POST', `/api/v4/groups/${PLATFORM}/members`), { allowed: false, reason: 'permission_not_granted', accepted_permissions: ['add_group_member', 'manage_group_member'] })
  t.match(await ask(token, 'GET', '/api/v4/user/keys'), { allowed: false, reason: 'permission_not_granted', resource: { type: 'user', id: ALICE }, accepted_permissions: ['read_ssh_key'] }, 'read_ssh_key is not granted')
  t.match(await ask(token, 'GET', `/api/v4/users/${BOB}`), { allowed: false, reason: 'resource_not_in_scope', resource: { type: 'user', id: BOB } }, 'another user is not the token owner')
  t.match(await ask(token, 'GET', '/api/v4/application/settings'), { allowed: false, reason: 'resource_not_in_scope', resource: { type: 'instance' }, accepted_permissions: ['read_application_settings'] })
})

t.test('administration routes', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { ask } = await forwarder(ctx)
  const admin = (await createToken(ctx, ADMIN, { granular_scopes: [{ access: 'instance', permissions: ['read_application_settings', 'manage_users'] }] })).token!
  t.match(await ask(admin, 'GET', '/api/v4/application/settings'), { allowed: true, permission: 'read_application_settings', resource: { type: 'instance' } })
  t.match(await ask(admin, 'PUT', `/api/v4/users/${BOB}`), { allowed: true, permission: 'manage_users', resource: { type: 'instance' } }, 'administration under /users/:id is about the instance')
  t.match(await ask(admin, 'PUT', '/api/v4/application/settings'), { allowed: false, reason: 'permission_not_granted', accepted_permissions: ['update_application_settings'], header: 'update_application_settings' })
  t.match(await ask(admin, 'DELETE', '/api/v4/admin/token'), { allowed: false, reason: 'permission_not_granted', permission: 'revoke_credential' })
})

t.test('a missing project by path: the same resource_not_found decision as the permission form', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { ask } = await forwarder(ctx)
  const authorize = await authorizer(ctx)
  const token = (await createToken(ctx, ALICE)).token!
  const forwarded = await ask(token, 'GET', '/api/v4/projects/acme%2Fapi/merge_requests')
  const direct = await authorize(token, 'read_merge_request', { type: 'project', path: 'acme/api' })
  t.match(forwarded, { allowed: false, reason: 'resource_not_found', resource: { type: 'project', path: 'acme/api' }, accepted_permissions: ['read_merge_request'] })
  const { permission: _p, resource: _r, accepted_permissions: _a, header: _h, ...core } = forwarded
  t.same(core, direct, 'the decision itself is the permission form\'s')
  t.match(await ask(token, 'GET', '/api/v4/projects/999999/jobs'), { reason: 'resource_not_found', resource: { type: 'project', id: 999999 } })
})

t.test('bad requests are 400s that say what to fix, not guesses and not denials', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { post } = await forwarder(ctx)
  const token = (await createToken(ctx, ALICE)).token!
  const problem = async (payload: object) => {
    const res = await post(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 120))
    t.match(res.headers['content-type'], /application\/problem\+json/)
    return res.json()
  }
  const unknown = await problem({ token, request: { method: 'GET', path: '/api/v4/projects/102/not_a_thing' } })
  t.match(unknown, { code: 'unknown_route', detail: /GET \/api\/v4\/projects\/102\/not_a_thing is not in the route table/, errors: [{ path: 'body.request.path' }] })
  const method = await problem({ token, request: { method: 'DELETE', path: '/api/v4/projects/102/repository/tree' } })
  t.match(method, { code: 'unsupported_method', detail: /known methods are GET, HEAD/, errors: [{ path: 'body.request.method' }] })
  t.match(await problem({ token, request: { method: 'GET', path: '/api/v4/projects/acme%2/merge_requests' } }), { code: 'invalid_request_path', detail: /%/ })
  t.match(await problem({ token, request: { method: 'GET', path: '/api/v4/projects/%FF%FE/merge_requests' } }), { code: 'invalid_request_path', detail: /UTF-8/ })
  t.match(await problem({ token, request: { method: 'GET', path: '/api/v4/projects/102/repository/files/..%2F..%2Fsecrets' } }), { code: 'invalid_request_path', detail: /\.\./ })
  t.match(await problem({ token, request: { method: 'GET', path: `/api/v4/projects/102/repository/files/${'a'.repeat(3000)}` } }), { code: 'invalid_request_path', detail: /longer than 2048/ })
  t.match(await problem({ token, request: { method: 'GET', path: '/projects/102/merge_requests' } }), { code: 'invalid_request_path', detail: /\/api\/v4\// })
  t.match(await problem({ token, request: { method: 'GET', path: '/api/v4/user' }, permission: 'read_user', resource: { type: 'instance' } }), { code: 'validation_failed', detail: /not both/ })
  t.match(await problem({ token, permission: 'read_code' }), { code: 'validation_failed', detail: /give request/ })
  t.match(await problem({ token, request: { method: 'GET' } }), { code: 'validation_failed' })
})

t.test('a repeated request gets the same answer and header; the query string does not change it', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { ask } = await forwarder(ctx)
  const token = (await createToken(ctx, ALICE)).token! // read_code on the api project
  await new Promise((r) => setTimeout(r, 100)) // subscribed: L1 active
  const first = await ask(token, 'GET', '/api/v4/projects/102/repository/tree?ref=main')
  const second = await ask(token, 'GET', '/api/v4/projects/102/repository/tree?ref=main')
  await ask(token, 'GET', '/api/v4/projects/102/repository/tree?ref=main')
  const again = await ask(token, 'GET', '/api/v4/projects/102/repository/tree?ref=main')
  const otherQuery = await ask(token, 'GET', '/api/v4/projects/102/repository/tree?ref=dev&recursive=true')
  t.same(second, first)
  t.same(again, first)
  t.same(otherQuery, first)
  t.equal(first.header, 'read_code')
  const denied = await ask(token, 'POST', '/api/v4/projects/102/merge_requests')
  await ask(token, 'POST', '/api/v4/projects/102/merge_requests')
  await ask(token, 'POST', '/api/v4/projects/102/merge_requests')
  const deniedAgain = await ask(token, 'POST', '/api/v4/projects/102/merge_requests')
  t.same(deniedAgain, denied)
  t.equal(deniedAgain.header, 'create_merge_request, manage_merge_request', 'the header on every answer')
  // The permission form of the same question answers without the route fields.
  const authorize = await authorizer(ctx)
  const plain = await authorize(token, 'read_code', { type: 'project', id: API_PROJECT })
  t.equal(plain.allowed, true)
  t.notOk('accepted_permissions' in plain)
  const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }, payload: { token, permission: 'read_code', resource: { type: 'project', id: API_PROJECT } } })
  t.equal(res.headers['x-accepted-permissions'], undefined, 'no header on the permission form')
})

t.test('batch checks may be forwarded requests too', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { post } = await forwarder(ctx)
  const token = (await createToken(ctx, ALICE)).token!
  const res = await post({
    token,
    checks: [
      { request: { method: 'GET', path: '/api/v4/projects/102/repository/files/README.md?ref=main' } },
      { request: { method: 'POST', path: '/api/v4/projects/102/merge_requests' } },
      { permission: 'read_code', resource: { type: 'project', id: API_PROJECT } },
    ],
  }, '/api/v4/authorize/batch')
  t.equal(res.statusCode, 200)
  t.match(res.json().results, [
    { allowed: true, permission: 'read_code' },
    { allowed: false, reason: 'permission_not_granted', accepted_permissions: ['create_merge_request', 'manage_merge_request'] },
    { allowed: true },
  ])
  const bad = await post({ token, checks: [{ permission: 'read_code', resource: { type: 'project', id: API_PROJECT } }, { request: { method: 'GET', path: '/api/v4/nope' } }] }, '/api/v4/authorize/batch')
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'unknown_route', errors: [{ path: 'body.checks[1].request.path' }] })
})
