import t from 'tap'
import {
  CATEGORIES,
  LEGACY_SCOPES,
  PERMISSIONS,
  expandPermissions,
  getPermission,
  isKnownPermission,
  isAdminOnlyLegacyScope,
  isLegacyScope,
  legacyScopePermissions,
  permissionTitles,
  searchPermissions,
  type Permission,
} from '../../src/domain/permissions/index.js'

// Names other modules and tests use directly; removing one breaks them.
const REQUIRED_NAMES = [
  'read_code',
  'push_code',
  'read_merge_request',
  'create_merge_request',
  'update_merge_request',
  'merge_merge_request',
  'approve_merge_request',
  'read_pipeline',
  'create_pipeline',
  'read_job',
  'play_job',
  'retry_job',
  'cancel_job',
  'run_job',
  'read_issue',
  'create_issue',
  'update_issue',
  'read_package',
  'publish_package',
  'read_container_image',
  'push_container_image',
  'read_project',
  'read_group',
  'read_release',
  'create_release',
  'read_wiki',
  'update_wiki',
  'read_user',
  'read_personal_access_token',
  'create_personal_access_token',
  'rotate_personal_access_token',
  'revoke_personal_access_token',
  'read_audit_events',
  'manage_users',
  'create_runner',
  'manage_runner',
]

const bundles = PERMISSIONS.filter((permission) => permission.includes !== undefined)

function mustGet(name: string): Permission {
  const permission = getPermission(name)
  if (permission === undefined) throw new Error(`unknown permission ${name}`)
  return permission
}

t.test('catalog size and categories', async (t) => {
  t.ok(PERMISSIONS.length > 100, `${PERMISSIONS.length} permissions`)
  t.ok(CATEGORIES.length >= 14, `${CATEGORIES.length} categories`)
  const categoryIds = CATEGORIES.map((category) => category.id)
  t.equal(new Set(categoryIds).size, categoryIds.length, 'category ids are unique')
  for (const category of CATEGORIES) {
    t.ok(category.title.length > 0 && category.description.endsWith('.'), `${category.id} is described`)
    t.ok(
      PERMISSIONS.some((permission) => permission.category === category.id),
      `${category.id} has permissions`,
    )
  }
})

t.test('every permission is well formed', async (t) => {
  const categoryIds = new Set(CATEGORIES.map((category) => category.id))
  const names = PERMISSIONS.map((permission) => permission.name)
  t.equal(new Set(names).size, names.length, 'names are unique')
  for (const permission of PERMISSIONS) {
    const { name } = permission
    t.match(name, /^[a-z][a-z0-9_]*$/, `${name}: snake_case name`)
    t.match(permission.title, /^[A-Z][^:]*: [A-Z][^:]*$/, `${name}: title is "Resource: Action"`)
    t.match(permission.description, /^[A-Z].*\.$/, `${name}: description is a sentence`)
    t.notMatch(permission.description, /\. /, `${name}: description is one sentence`)
    t.ok(categoryIds.has(permission.category), `${name}: known category`)
    t.ok(permission.boundaries.length >= 1, `${name}: has a boundary`)
    t.equal(new Set(permission.boundaries).size, permission.boundaries.length, `${name}: boundaries unique`)
    for (const synonym of permission.synonyms ?? []) {
      t.equal(synonym, synonym.toLowerCase(), `${name}: synonym "${synonym}" is lower case`)
    }
  }
})

t.test('names other code relies on exist', async (t) => {
  for (const name of REQUIRED_NAMES) t.ok(isKnownPermission(name), name)
  t.notOk(isKnownPermission('no_such_permission'))
  t.equal(getPermission('no_such_permission'), undefined)
  t.equal(mustGet('create_merge_request').title, 'Merge request: Create')
})

t.test('boundaries, access levels and admin flags agree', async (t) => {
  for (const permission of PERMISSIONS) {
    const { name, boundaries } = permission
    const instanceOnly = boundaries.every((boundary) => boundary === 'instance')
    const membershipBased = boundaries.includes('project') || boundaries.includes('group')
    if (boundaries.includes('instance')) t.ok(instanceOnly, `${name}: instance is never mixed with others`)
    t.equal(permission.requiresAdmin, instanceOnly, `${name}: requiresAdmin exactly for instance permissions`)
    if (membershipBased) t.ok(permission.minAccessLevel > 0, `${name}: needs a membership level`)
    else t.equal(permission.minAccessLevel, 0, `${name}: no membership level outside projects and groups`)
    if (permission.publicRead) {
      t.equal(permission.access, 'read', `${name}: public permissions are reads`)
      t.ok(membershipBased, `${name}: only project and group resources are public`)
    }
  }
  t.equal(mustGet('read_code').minAccessLevel, 20)
  t.equal(mustGet('push_code').minAccessLevel, 30)
  t.equal(mustGet('manage_protected_branch').minAccessLevel, 40)
  t.equal(mustGet('read_ci_variable').minAccessLevel, 40)
  t.equal(mustGet('delete_project').minAccessLevel, 50)
  t.equal(mustGet('read_issue').minAccessLevel, 10)
  t.same(mustGet('read_group').boundaries, ['group'])
  t.same(mustGet('read_personal_access_token').boundaries, ['user'])
  t.ok(mustGet('read_audit_events').requiresAdmin)
  t.ok(mustGet('manage_users').requiresAdmin)
})

t.test('public reads and secrets', async (t) => {
  for (const name of ['read_code', 'read_issue', 'read_merge_request', 'read_project', 'read_group', 'read_release', 'read_wiki', 'read_package', 'read_container_image', 'read_pipeline']) {
    t.ok(mustGet(name).publicRead, `${name} is public`)
  }
  for (const name of ['read_ci_variable', 'read_group_ci_variable', 'read_runner', 'read_vulnerability', 'push_code']) {
    t.notOk(mustGet(name).publicRead, `${name} is not public`)
  }
})

t.test('bundles', async (t) => {
  t.ok(bundles.length >= 4, `${bundles.length} bundles`)
  t.same(mustGet('run_job').includes, ['play_job', 'retry_job', 'cancel_job'])
  for (const bundle of bundles) {
    const includes = bundle.includes ?? []
    t.ok(includes.length > 0, `${bundle.name}: includes something`)
    t.notOk(includes.includes(bundle.name), `${bundle.name}: does not include itself`)
    for (const includedName of includes) {
      const included = getPermission(includedName)
      if (!t.ok(included, `${bundle.name}: includes known ${includedName}`) || included === undefined) continue
      for (const boundary of bundle.boundaries) {
        t.ok(included.boundaries.includes(boundary), `${bundle.name}: ${includedName} grantable at ${boundary}`)
      }
      t.ok(bundle.minAccessLevel >= included.minAccessLevel, `${bundle.name}: level covers ${includedName}`)
      if (included.access === 'write') t.equal(bundle.access, 'write', `${bundle.name}: writes like ${includedName}`)
    }
  }
})

t.test('bundles are acyclic', async (t) => {
  const done = new Set<string>()
  function visit(name: string, path: string[]): void {
    if (path.includes(name)) {
      t.fail(`cycle: ${[...path, name].join(' -> ')}`)
      return
    }
    if (done.has(name)) return
    for (const included of getPermission(name)?.includes ?? []) visit(included, [...path, name])
    done.add(name)
  }
  for (const bundle of bundles) visit(bundle.name, [])
  t.pass('no cycles found')
})

t.test('expandPermissions', async (t) => {
  const expanded = expandPermissions(['run_job'])
  for (const name of ['run_job', 'play_job', 'retry_job', 'cancel_job']) t.ok(expanded.has(name), name)
  t.equal(expanded.size, 4)

  const mixed = expandPermissions(['read_code', 'read_code', 'unknown_thing', 'manage_merge_request'])
  t.ok(mixed.has('unknown_thing'), 'unknown names are kept')
  t.ok(mixed.has('merge_merge_request'), 'bundle expanded')
  t.notOk(mixed.has('approve_merge_request'), 'approval is not part of manage_merge_request')
  t.equal([...mixed].filter((name) => name === 'read_code').length, 1)
  t.equal(expandPermissions([]).size, 0)
})

t.test('legacy scopes', async (t) => {
  const scopeNames = LEGACY_SCOPES.map((scope) => scope.name)
  t.equal(new Set(scopeNames).size, scopeNames.length, 'scope names are unique')
  for (const name of ['api', 'read_api', 'read_user', 'read_repository', 'write_repository', 'read_registry', 'write_registry', 'create_runner', 'manage_runner', 'self_rotate']) {
    t.ok(isLegacyScope(name), `${name} is a legacy scope`)
  }
  for (const name of ['sudo', 'admin_mode']) {
    t.ok(isLegacyScope(name), `${name} is a legacy scope`)
    t.ok(isAdminOnlyLegacyScope(name), `${name} is for administrators`)
  }
  t.notOk(isAdminOnlyLegacyScope('api'))
  t.same([...(legacyScopePermissions('sudo') ?? [])], ['act_as_user'], 'sudo: acting as another user, nothing else')
  t.equal(legacyScopePermissions('admin_mode')?.size, 0, 'admin_mode: a modifier, no permission of its own')
  t.notOk(isLegacyScope('read_code'))
  t.equal(legacyScopePermissions('nope'), undefined)

  for (const scope of LEGACY_SCOPES) {
    t.ok(scope.description.endsWith('.'), `${scope.name}: described`)
    if (scope.permissions === 'all') continue
    if (scope.name !== 'admin_mode') t.ok(scope.permissions.length > 0, `${scope.name}: grants something`)
    for (const name of scope.permissions) t.ok(isKnownPermission(name), `${scope.name}: ${name} exists`)
  }

  const api = legacyScopePermissions('api')
  t.equal(api?.size, PERMISSIONS.length - 1, 'api grants every permission but one')
  for (const permission of PERMISSIONS) {
    if (permission.name === 'act_as_user') t.notOk(api?.has(permission.name), 'api does not grant act_as_user (only sudo does)')
    else t.ok(api?.has(permission.name), `api grants ${permission.name}`)
  }

  const readApi = legacyScopePermissions('read_api') ?? new Set<string>()
  t.ok(readApi.has('read_code'))
  t.notOk(readApi.has('push_code'))
  for (const name of readApi) t.equal(getPermission(name)?.access, 'read', `read_api grants read ${name}`)
  t.equal(readApi.size, PERMISSIONS.filter((permission) => permission.access === 'read').length, 'every read')

  const readRepository = legacyScopePermissions('read_repository') ?? new Set<string>()
  const writeRepository = legacyScopePermissions('write_repository') ?? new Set<string>()
  t.ok(readRepository.has('read_code'))
  t.notOk(readRepository.has('push_code'))
  for (const name of readRepository) t.ok(writeRepository.has(name), `write_repository includes ${name}`)
  t.ok(writeRepository.has('push_code'))
  t.ok(writeRepository.has('create_branch'))
  t.ok(legacyScopePermissions('write_registry')?.has('push_container_image'))
  t.ok(legacyScopePermissions('read_registry')?.has('read_container_image'))
  t.same([...(legacyScopePermissions('self_rotate') ?? [])], ['rotate_personal_access_token'])

  const copy = legacyScopePermissions('read_user')
  copy?.add('push_code')
  t.notOk(legacyScopePermissions('read_user')?.has('push_code'), 'callers get a copy')
})

t.test('searchPermissions', async (t) => {
  t.equal(searchPermissions({ search: 'clone' })[0]?.name, 'read_code')
  t.equal(searchPermissions({ search: 'CLONE' })[0]?.name, 'read_code', 'case-insensitive')
  t.ok(searchPermissions({ search: 'pull request' }).some((p) => p.name === 'create_merge_request'))
  t.equal(searchPermissions({ search: 'MR' })[0]?.category, 'merge_requests')
  t.equal(searchPermissions({ search: 'push' })[0]?.name, 'push_code')
  t.equal(searchPermissions({ search: 'npm' })[0]?.name, 'read_package')
  t.equal(searchPermissions({ search: 'docker' })[0]?.name, 'read_container_image')
  t.equal(searchPermissions({ search: 'CI' })[0]?.name, 'read_pipeline')
  t.equal(searchPermissions({ search: 'PAT' })[0]?.name, 'read_personal_access_token')
  t.equal(searchPermissions({ search: 'run_job' })[0]?.name, 'run_job', 'exact name first')
  t.equal(searchPermissions({ search: 'create merge request' })[0]?.name, 'create_merge_request')
  t.equal(searchPermissions({ search: 'xyzzy' }).length, 0)

  // Name and title matches outrank description matches.
  const artifacts = searchPermissions({ search: 'artifact' }).map((p) => p.name)
  t.ok(artifacts.indexOf('read_job_artifact') < artifacts.indexOf('erase_job'))

  t.same(
    searchPermissions({}).map((p) => p.name),
    PERMISSIONS.map((p) => p.name),
    'no query lists everything in catalog order',
  )

  const ciCd = searchPermissions({ category: 'ci_cd' })
  t.ok(ciCd.length > 0)
  t.ok(ciCd.every((p) => p.category === 'ci_cd'))
  t.same(
    ciCd.map((p) => p.name),
    PERMISSIONS.filter((p) => p.category === 'ci_cd').map((p) => p.name),
  )

  const userOnly = searchPermissions({ boundary: 'user' })
  t.ok(userOnly.some((p) => p.name === 'read_personal_access_token'))
  t.ok(userOnly.every((p) => p.boundaries.includes('user')))
  t.notOk(userOnly.some((p) => p.name === 'read_code'))

  const instanceAdmin = searchPermissions({ boundary: 'instance' })
  t.ok(instanceAdmin.length > 0)
  t.ok(instanceAdmin.every((p) => p.requiresAdmin), 'instance-only permissions need an admin')

  const combined = searchPermissions({ search: 'token', category: 'user', boundary: 'user' })
  t.ok(combined.length > 0)
  t.ok(combined.every((p) => p.category === 'user' && p.boundaries.includes('user')))
  t.same(searchPermissions({ category: 'no_such_category' }), [])
})

t.test('permissionTitles', async (t) => {
  t.same(permissionTitles(['create_merge_request']), ['Merge request: Create'])
  t.same(permissionTitles(['read_code', 'not_a_permission']), ['Code: Read', 'not_a_permission'])
  t.same(permissionTitles(new Set(['run_job'])), ['Job: Run'])
})

t.test('the catalog cannot be changed by callers', async (t) => {
  t.ok(Object.isFrozen(PERMISSIONS))
  t.ok(Object.isFrozen(mustGet('read_code')))
  t.ok(Object.isFrozen(mustGet('read_code').boundaries))
  t.ok(Object.isFrozen(CATEGORIES))
  t.ok(Object.isFrozen(LEGACY_SCOPES))
})
