// GET /api/v4/permissions and friends: public reference data, searchable for a token form.
import t from 'tap'
import { CATEGORIES, PERMISSIONS } from '../../src/domain/permissions/index.js'
import { build, type TestContext } from '../helpers/app.js'

interface PermissionJson {
  name: string
  title: string
  description: string
  category: string
  boundaries: string[]
  min_access_level: number
  min_access_level_name: string | null
  requires_admin: boolean
  public_read: boolean
  access: string
  includes?: string[]
}
interface CategoryJson {
  id: string
  title: string
  description: string
  permission_count: number
}
interface ProblemJson {
  status: number
  code: string
  detail: string
  errors?: Array<{ path: string; message: string }>
}

async function get(ctx: TestContext, url: string) {
  return ctx.app.inject({ method: 'GET', url })
}

t.test('the catalog', async (t) => {
  const ctx = await build(t)

  t.test('lists every permission without credentials', async (t) => {
    const res = await get(ctx, '/api/v4/permissions')
    t.equal(res.statusCode, 200)
    const all = res.json() as PermissionJson[]
    t.equal(all.length, PERMISSIONS.length)
    t.ok(all.length > 100, 'the breadth of a real forge')
    t.match(all.find((p) => p.name === 'read_code'), {
      title: String, description: String, category: 'repository', access: 'read', boundaries: ['project', 'group'],
      min_access_level: Number, requires_admin: false,
    })
    const runJob = all.find((p) => p.name === 'run_job')
    t.ok(['play_job', 'retry_job'].every((p) => runJob?.includes?.includes(p)), 'bundles list what they include')
  })

  t.test('search: "clone" finds Code: Read first', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?search=clone')
    t.equal(res.statusCode, 200)
    const found = res.json() as PermissionJson[]
    t.equal(found[0]?.name, 'read_code')
  })

  t.test('search: "pull request" finds the merge request permissions', async (t) => {
    const res = await get(ctx, `/api/v4/permissions?search=${encodeURIComponent('pull request')}`)
    t.equal(res.statusCode, 200)
    const found = (res.json() as PermissionJson[]).map((p) => p.name)
    for (const name of ['read_merge_request', 'create_merge_request', 'merge_merge_request', 'approve_merge_request']) {
      t.ok(found.includes(name), name)
    }
    t.equal((res.json() as PermissionJson[])[0].category, 'merge_requests', 'best match first')
  })

  t.test('search with nothing matching is an empty list', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?search=zzqqxx')
    t.equal(res.statusCode, 200)
    t.same(res.json(), [])
  })

  t.test('category filter', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?category=merge_requests')
    t.equal(res.statusCode, 200)
    const found = res.json() as PermissionJson[]
    t.ok(found.length > 0)
    t.ok(found.every((p) => p.category === 'merge_requests'), 'only that category')
    t.equal(found.length, PERMISSIONS.filter((p) => p.category === 'merge_requests').length, 'all of that category')
  })

  t.test('boundary filter', async (t) => {
    for (const boundary of ['project', 'group', 'user', 'instance']) {
      const res = await get(ctx, `/api/v4/permissions?boundary=${boundary}`)
      t.equal(res.statusCode, 200, boundary)
      const found = res.json() as PermissionJson[]
      t.ok(found.length > 0, `${boundary}: some permissions`)
      t.ok(found.every((p) => p.boundaries.includes(boundary)), `${boundary}: only grantable there`)
    }
    const instance = (await get(ctx, '/api/v4/permissions?boundary=instance')).json() as PermissionJson[]
    t.ok(instance.every((p) => p.requires_admin), 'instance permissions need an administrator')
  })

  t.test('filters combine', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?category=repository&boundary=project&search=push')
    t.equal(res.statusCode, 200)
    const found = res.json() as PermissionJson[]
    t.ok(found.some((p) => p.name === 'push_code'))
    t.ok(found.every((p) => p.category === 'repository' && p.boundaries.includes('project')))
  })

  t.test('an unknown category is a 400 that says where to look', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?category=nonsense')
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    const body = res.json() as ProblemJson
    t.match(body, { status: 400, code: 'unknown_category', detail: /nonsense.*\/api\/v4\/permissions\/categories/ })
    t.same(body.errors, [{ path: 'query.category', message: 'unknown category "nonsense"' }])
  })

  t.test('an unknown boundary is a validation error', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?boundary=bogus')
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    const body = res.json() as ProblemJson
    t.equal(body.code, 'validation_failed')
    t.ok(body.errors?.some((e) => e.path === 'query.boundary'), 'names query.boundary')
  })

  t.test('an unknown query parameter is ignored, as GitLab does (its clients send per_page to every list)', async (t) => {
    const res = await get(ctx, '/api/v4/permissions?per_page=100&serach=clone')
    t.equal(res.statusCode, 200)
    t.equal((res.json() as PermissionJson[]).length, PERMISSIONS.length, 'the whole catalog: unknown names filter nothing')
    const bad = await get(ctx, '/api/v4/permissions?per_page=100&boundary=bogus')
    t.equal(bad.statusCode, 400, 'a known parameter beside it is still validated')
    t.ok((bad.json() as ProblemJson).errors?.some((e) => e.path === 'query.boundary'))
  })

  t.test('categories, in display order, with counts that add up', async (t) => {
    const res = await get(ctx, '/api/v4/permissions/categories')
    t.equal(res.statusCode, 200)
    const categories = res.json() as CategoryJson[]
    t.ok(categories.length >= 12, `${categories.length} categories`)
    t.same(categories.map((c) => c.id), CATEGORIES.map((c) => c.id))
    t.ok(categories.every((c) => c.title && c.description && c.permission_count > 0), 'each has a title, a description and permissions')
    t.equal(categories.reduce((sum, c) => sum + c.permission_count, 0), PERMISSIONS.length, 'every permission is in one category')
    const repository = categories.find((c) => c.id === 'repository')!
    const listed = (await get(ctx, '/api/v4/permissions?category=repository')).json() as PermissionJson[]
    t.equal(repository.permission_count, listed.length, 'the count matches the category filter')
  })

  t.test('legacy scopes and what they map to', async (t) => {
    const res = await get(ctx, '/api/v4/permissions/legacy_scopes')
    t.equal(res.statusCode, 200)
    const scopes = res.json() as Array<{ name: string; description: string; permissions: 'all' | string[] }>
    const byName = new Map(scopes.map((s) => [s.name, s]))
    for (const name of ['api', 'read_api', 'read_user', 'read_repository', 'write_repository', 'read_registry', 'write_registry', 'create_runner', 'manage_runner', 'self_rotate']) {
      t.ok(byName.has(name), name)
    }
    t.equal(byName.get('api')?.permissions, 'all')
    t.ok((byName.get('read_repository')?.permissions as string[]).includes('read_code'))
    const known = new Set(PERMISSIONS.map((p) => p.name))
    const readApi = byName.get('read_api')?.permissions as string[]
    t.ok(readApi.length > 0 && readApi.every((p) => known.has(p)), 'read_api lists catalog permissions')
    t.ok(scopes.every((s) => s.description), 'each has a description')
  })
})

t.test('each permission lists the GitLab REST routes it covers', async (t) => {
  const ctx = await build(t)
  const all = (await get(ctx, '/api/v4/permissions')).json() as Array<PermissionJson & { routes?: { method: string; path: string; resource: string }[]; no_route?: string }>
  const readCode = all.find((p) => p.name === 'read_code')!
  t.same(readCode.routes?.find((r) => r.path === '/projects/:id/repository/files/:file_path' && r.method === 'GET'), { method: 'GET', path: '/projects/:id/repository/files/:file_path', resource: 'project' })
  t.same(all.find((p) => p.name === 'read_user')!.routes?.[0], { method: 'GET', path: '/user', resource: 'self' })
  t.same(all.find((p) => p.name === 'manage_users')!.routes?.find((r) => r.path === '/users/:id'), { method: 'PUT', path: '/users/:id', resource: 'instance' })
  t.equal(all.find((p) => p.name === 'run_job')!.routes, undefined, 'a bundle is accepted through what it includes')
  t.match(all.find((p) => p.name === 'act_as_user')!.no_route, /Sudo/)
  t.ok(all.every((p) => p.includes || p.routes?.length || p.no_route), 'routes, a bundle, or the reason there are none')
})
