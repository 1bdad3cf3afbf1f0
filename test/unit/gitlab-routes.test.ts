import t from 'tap'
import { checkPath, compileRouteTable, gitlabRoutes, MAX_REQUEST_PATH, routeResource, type RouteResult } from '../../src/domain/gitlab-routes.js'
import { PERMISSIONS, type Permission } from '../../src/domain/permissions/index.js'

// Permissions GitLab's REST API has no endpoint for, each with its reason in the catalog (noRoute).
// A new entry here is a decision: say why in the catalog, and the README's route-table note.
const NO_REST_ROUTE = [
  'access_kubernetes_api', 'act_as_user', 'create_incident', 'create_subgroup', 'force_push_code', 'manage_instance_integration',
  'manage_iteration', 'manage_oauth_application', 'manage_security_policy', 'push_container_image', 'read_dependency_proxy',
  'read_incident', 'read_oauth_application', 'read_security_policy', 'update_incident',
]

const table = gitlabRoutes()
const ok = (r: RouteResult) => {
  if (!r.ok) throw new Error(`expected a match: ${r.detail}`)
  return { permission: r.match.permission.name, resource: r.match.resource, accepted: [...r.match.accepted] }
}

t.test('the route table covers the catalog', async (t) => {
  for (const p of PERMISSIONS) {
    if (p.includes) {
      t.equal(p.routes, undefined, `${p.name}: a bundle has no routes of its own (accepted through what it includes)`)
      continue
    }
    if (p.noRoute !== undefined) {
      t.ok(p.noRoute.length > 20 && p.routes === undefined, `${p.name}: says why no REST route maps to it`)
      continue
    }
    t.ok((p.routes?.length ?? 0) >= 1, `${p.name} has at least one route`)
  }
  t.same(PERMISSIONS.filter((p) => p.noRoute !== undefined).map((p) => p.name).sort(), NO_REST_ROUTE, 'the permissions without a REST route are exactly the documented ones')
  t.ok(table.routes.length > 400, `${table.routes.length} routes`)
})

t.test('no two permissions claim the same method and path; every path parses', async (t) => {
  const seen = new Map<string, string>()
  for (const p of PERMISSIONS) {
    for (const route of p.routes ?? []) {
      t.match(route.path, /^\/[a-z_]+(\/([a-z0-9_.-]+|:[a-z_]+|[a-z_]+\.:[a-z_]+|\*))*$/, `${route.method} ${route.path}: a GitLab v4 path template`)
      // Two templates differing only in parameter names are the same route.
      const key = `${route.method} ${route.path.replace(/:[a-z_]+/g, ':')}`
      t.notOk(seen.has(key), `${key} is claimed by ${p.name} and ${seen.get(key)}`)
      seen.set(key, p.name)
    }
  }
  // find-my-way itself refuses a duplicate: compiling a table with one is an error at start.
  const dup = { ...PERMISSIONS.find((p) => p.name === 'read_code')!, name: 'copy', routes: [{ method: 'GET' as const, path: '/projects/:x/repository/tree' }] }
  t.throws(() => compileRouteTable([...PERMISSIONS, dup as Permission]))
})

t.test('every route names a resource its permission may be granted on', async (t) => {
  for (const p of PERMISSIONS) {
    for (const route of p.routes ?? []) {
      const { kind } = routeResource(route)
      const boundary = kind === 'self' ? 'user' : kind
      t.ok(p.boundaries.includes(boundary), `${route.method} ${route.path}: ${p.name} applies to ${boundary}`)
    }
  }
})

t.test('requests a GitLab backend forwards', async (t) => {
  t.same(ok(table.match('GET', '/api/v4/projects/42/repository/files/README.md?ref=main')), { permission: 'read_code', resource: { type: 'project', id: 42 }, accepted: ['read_code'] })
  t.same(ok(table.match('GET', '/api/v4/projects/acme%2Fapi/merge_requests')).resource, { type: 'project', path: 'acme/api' }, 'a project by its URL-encoded full path')
  t.same(ok(table.match('GET', '/api/v4/projects/42/repository/files/docs%2Fguide%20one.md/raw?ref=main')), { permission: 'read_code', resource: { type: 'project', id: 42 }, accepted: ['read_code'] })
  t.same(ok(table.match('POST', '/api/v4/projects/42/merge_requests')), { permission: 'create_merge_request', resource: { type: 'project', id: 42 }, accepted: ['create_merge_request', 'manage_merge_request'] })
  t.equal(ok(table.match('PUT', '/api/v4/projects/42/merge_requests/7/merge')).permission, 'merge_merge_request')
  t.equal(ok(table.match('POST', '/api/v4/projects/42/merge_requests/7/approve')).permission, 'approve_merge_request')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/pipelines/latest')).permission, 'read_pipeline', 'a static segment before a parameter')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/pipelines/1001')).permission, 'read_pipeline')
  t.equal(ok(table.match('POST', '/api/v4/projects/42/pipeline?ref=main')).permission, 'create_pipeline')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/jobs/9/trace')).permission, 'read_job_log')
  t.same(ok(table.match('POST', '/api/v4/projects/42/jobs/9/retry')).accepted, ['retry_job', 'run_job'])
  t.equal(ok(table.match('GET', '/api/v4/projects/42/jobs/artifacts/main/download?job=build')).permission, 'read_job_artifact')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/jobs/9/artifacts/dist/app.tar.gz')).permission, 'read_job_artifact')
  t.equal(ok(table.match('PUT', '/api/v4/projects/42/packages/generic/app/1.2.3/app.tgz')).permission, 'publish_package')
  t.equal(ok(table.match('PUT', '/api/v4/projects/42/packages/npm/@acme%2fui')).permission, 'publish_package')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/packages/maven/com/acme/app/1.0/app-1.0.jar')).permission, 'read_package')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/repository/archive.zip?sha=main')).permission, 'download_code_archive')
  t.same(ok(table.match('GET', '/api/v4/groups/acme%2Fplatform/epics')), { permission: 'read_epic', resource: { type: 'group', path: 'acme/platform' }, accepted: ['read_epic'] })
  t.same(ok(table.match('POST', '/api/v4/groups/100/members')).accepted, ['add_group_member', 'manage_group_member'])
  t.same(ok(table.match('GET', '/api/v4/groups/100/merge_requests')).resource, { type: 'group', id: 100 })
  t.same(ok(table.match('GET', '/api/v4/user')), { permission: 'read_user', resource: { type: 'user', self: true }, accepted: ['read_user'] }, '/user is the token owner')
  t.same(ok(table.match('GET', '/api/v4/users/3/keys')).resource, { type: 'user', id: 3 })
  t.same(ok(table.match('POST', '/api/v4/projects')).resource, { type: 'user', self: true }, 'a new project goes into your namespace')
  t.same(ok(table.match('PUT', '/api/v4/users/3')), { permission: 'manage_users', resource: { type: 'instance' }, accepted: ['manage_users'] }, 'administration under /users/:id')
  t.same(ok(table.match('GET', '/api/v4/application/settings')).resource, { type: 'instance' })
  t.equal(ok(table.match('DELETE', '/api/v4/admin/token')).permission, 'revoke_credential')
  t.same(ok(table.match('POST', '/api/v4/security/projects/42/vulnerability_exports')).resource, { type: 'project', id: 42 }, 'the project in the middle of the path')
  t.equal(ok(table.match('HEAD', '/api/v4/projects/42/repository/files/README.md')).permission, 'read_code', 'HEAD matches GET')
  t.equal(ok(table.match('GET', '/api/v4/projects/42/merge_requests/')).permission, 'read_merge_request', 'a trailing slash')
  t.same(ok(table.match('GET', '/api/v4/projects/0/jobs')).resource, { type: 'project', path: '0' }, 'not an id: a path that names nothing')
  t.same(ok(table.match('GET', '/api/v4/projects/99999999999999999/jobs')).resource, { type: 'project', path: '99999999999999999' }, 'beyond a safe integer')
})

t.test('unknown routes and methods', async (t) => {
  t.match(table.match('GET', '/api/v4/projects/42/not_a_thing'), { ok: false, code: 'unknown_route', detail: /GET \/api\/v4\/projects\/42\/not_a_thing is not in the route table/ })
  t.match(table.match('GET', '/api/v4/Projects/42/jobs'), { ok: false, code: 'unknown_route' }, 'GitLab routes are case-sensitive')
  t.match(table.match('DELETE', '/api/v4/projects/42/repository/tree'), { ok: false, code: 'unsupported_method', methods: ['GET'], detail: /known methods are GET, HEAD/ })
  t.match(table.match('OPTIONS', '/api/v4/projects/42/merge_requests'), { ok: false, code: 'unsupported_method', methods: ['GET', 'POST'] })
  t.match(table.match('get', '/api/v4/user'), { ok: false, code: 'unsupported_method' }, 'methods are upper case, as on the wire')
})

t.test('paths that cannot be trusted are refused, not normalized', async (t) => {
  const bad = [
    '/projects/42/jobs', // no prefix
    '/api/v3/projects/42/jobs',
    '/api/v4/projects/%E0%A4%A/jobs', // truncated escape
    '/api/v4/projects/%zz/jobs',
    '/api/v4/projects/%FF/jobs', // not UTF-8
    '/api/v4/projects/42/repository/files/..%2F..%2Fetc%2Fpasswd',
    '/api/v4/projects/42/repository/files/%2E%2E/raw',
    '/api/v4/projects/42/../43/jobs',
    '/api/v4/projects/./42/jobs',
    '/api/v4/projects//42/jobs',
    '/api/v4/projects/42/repository/files/a%00b',
    '/api/v4/projects/42/repository/files/a\\b',
    '/api/v4/projects/42/repository/files/a%5Cb',
    `/api/v4/projects/42/repository/files/${'a'.repeat(MAX_REQUEST_PATH)}`,
  ]
  for (const path of bad) t.match(table.match('GET', path), { ok: false, code: 'invalid_request_path' }, path.slice(0, 80))
  t.equal(checkPath('/api/v4/projects/42/repository/files/.gitlab-ci.yml'), undefined, 'a dot file is not a dot segment')
  t.equal(checkPath('/api/v4/projects/42/repository/files/a%2F.b%2F..c'), undefined)
  t.equal(checkPath('/api/v4/projects/42/repository/files/caf%C3%A9%20menu.md'), undefined, 'UTF-8 and spaces, encoded')
})
