import fc from 'fast-check'
import t from 'tap'
import { decide, type DecisionInput, DENY_REASONS, type NamespaceEntry, type OwnerEntry, resolvePermissions, type TokenEntry } from '../../src/domain/decide.js'
import { getPermission, PERMISSIONS } from '../../src/domain/permissions/index.js'

const now = new Date('2030-06-15T12:00:00Z')
const ns = (id: number, traversalIds: number[], kind: NamespaceEntry['kind'] = 'project', visibility: NamespaceEntry['visibility'] = 'private'): NamespaceEntry =>
  ({ id, kind, fullPath: `p${id}`, visibility, traversalIds, version: 1 })
const ACME = ns(100, [100], 'group')
const API = ns(102, [100, 101, 102])
const OTHER = ns(201, [200, 201])
const PUBLIC = ns(203, [200, 203], 'project', 'public')
const DOTFILES = ns(301, [300, 301])

const owner = (over: Partial<OwnerEntry> = {}): OwnerEntry => ({
  id: 2, state: 'active', isAdmin: false, personalNamespaceId: 300, memberships: [[100, 30, null], [102, 40, null]], version: 1, ...over,
})
const token = (over: Partial<TokenEntry> = {}): TokenEntry => ({
  id: 7, userId: 2, kind: 'fine_grained', expiresAt: '2030-07-01', revoked: false, legacyScopes: [], version: 1,
  scopes: [{ access: 'selected_memberships', namespace_id: 101, permissions: ['read_code', 'push_code', 'run_job'] }],
  ...over,
})
const perms = (...names: string[]) => names.map((n) => getPermission(n)!)
const input = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  wellFormed: true, token: token(), owner: owner(), permissions: perms('read_code'), resourceType: 'project', resource: API,
  ip: '10.0.0.1', now, policies: [], ipAllowed: (ip, ranges) => ranges.includes(`${ip}/32`), ...over,
})

t.test('allowed: scope covers the resource, permission granted, owner holds the role', async (t) => {
  const d = decide(input())
  t.match(d, { allowed: true, reason: 'allowed', token: { id: 7, user_id: 2, kind: 'fine_grained', expires_at: '2030-07-01' } })
  t.same(d.scope, [{ access: 'selected_memberships', namespace_id: 101 }])
  t.equal(decide(input({ permissions: perms('play_job', 'retry_job') })).allowed, true, 'bundles expand')
})

t.test('every deny reason, in order', async (t) => {
  const reasons: [string, Partial<DecisionInput>][] = [
    ['malformed_token', { wellFormed: false }],
    ['token_not_found', { token: undefined }],
    ['token_revoked', { token: token({ revoked: true }) }],
    ['token_expired', { token: token({ expiresAt: '2030-06-15' }) }],
    ['user_inactive', { owner: owner({ state: 'blocked' }) }],
    ['user_inactive', { owner: undefined }],
    ['resource_not_found', { resource: undefined }],
    ['access_removed_by_group', { token: token({ removedFromGroups: [101] }) }],
    ['approval_pending', { token: token({ awaitingApprovalIn: [100] }), policies: [{ allowLegacyTokens: true, legacyBlockedFrom: null, allowedIpRanges: [], blockedPermissions: [], requireApproval: true }] }],
    ['legacy_token_blocked', { token: token({ kind: 'legacy', legacyScopes: ['api'] }), policies: [{ allowLegacyTokens: false, legacyBlockedFrom: null, allowedIpRanges: [], blockedPermissions: [] }] }],
    ['legacy_token_blocked', { token: token({ kind: 'legacy', legacyScopes: ['api'] }), policies: [{ allowLegacyTokens: true, legacyBlockedFrom: '2030-06-15', allowedIpRanges: [], blockedPermissions: [] }] }],
    ['ip_not_allowed', { policies: [{ allowLegacyTokens: true, legacyBlockedFrom: null, allowedIpRanges: ['192.168.0.1/32'], blockedPermissions: [] }] }],
    ['ip_not_allowed', { ip: undefined, policies: [{ allowLegacyTokens: true, legacyBlockedFrom: null, allowedIpRanges: ['10.0.0.1/32'], blockedPermissions: [] }] }],
    ['permission_blocked_by_policy', { policies: [{ allowLegacyTokens: true, legacyBlockedFrom: null, allowedIpRanges: [], blockedPermissions: ['read_code'] }] }],
    ['resource_not_in_scope', { resource: OTHER }],
    ['resource_not_in_scope', { resource: ACME, resourceType: 'group' }],
    ['permission_not_granted', { permissions: perms('read_code', 'create_merge_request') }],
    ['insufficient_role', { owner: owner({ memberships: [[100, 20, null]] }), permissions: perms('push_code') }],
  ]
  for (const [reason, over] of reasons) {
    const d = decide(input(over))
    t.equal(d.reason, reason, `${reason} for ${JSON.stringify(Object.keys(over))}`)
    t.equal(d.allowed, false)
  }
  t.same(new Set(reasons.map(([r]) => r)), new Set(DENY_REASONS), 'every reason code is exercised')
})

t.test('access removed by a group: the group and below, after token validity, before policy and scopes', async (t) => {
  const removed = (...groups: number[]) => token({ removedFromGroups: groups })
  const strictPolicy = { allowLegacyTokens: false, legacyBlockedFrom: null, allowedIpRanges: ['192.168.0.1/32'], blockedPermissions: ['read_code'] }
  t.equal(decide(input({ token: removed(100) })).reason, 'access_removed_by_group', 'removed on the top-level group: its projects deny')
  t.equal(decide(input({ token: removed(102) })).reason, 'access_removed_by_group', 'removed on the resource itself')
  t.equal(decide(input({ token: removed(101), resource: ACME, resourceType: 'group', permissions: perms('read_group') })).reason, 'resource_not_in_scope', 'not above the group that removed it')
  t.equal(decide(input({ token: removed(200) })).allowed, true, 'another group\'s removal changes nothing here')
  const everywhere = token({ removedFromGroups: [200], scopes: [{ access: 'all_memberships', namespace_id: null, permissions: ['read_code'] }] })
  t.equal(decide(input({ token: everywhere, resource: PUBLIC })).reason, 'access_removed_by_group', 'whatever scope would have allowed it')
  t.equal(decide(input({ token: everywhere })).allowed, true, 'and the token keeps working elsewhere')
  // Before: the token's own validity and the resource's existence.
  t.equal(decide(input({ token: token({ removedFromGroups: [101], revoked: true }) })).reason, 'token_revoked')
  t.equal(decide(input({ token: token({ removedFromGroups: [101], expiresAt: '2030-06-01' }) })).reason, 'token_expired')
  t.equal(decide(input({ token: removed(101), owner: owner({ state: 'deactivated' }) })).reason, 'user_inactive')
  t.equal(decide(input({ token: removed(101), resource: undefined })).reason, 'resource_not_found')
  // After it: policy, scope, permission and role, whichever would also fail.
  t.equal(decide(input({ token: removed(101), policies: [strictPolicy] })).reason, 'access_removed_by_group')
  t.equal(decide(input({ token: token({ removedFromGroups: [101], kind: 'legacy', legacyScopes: ['api'] }), policies: [strictPolicy] })).reason, 'access_removed_by_group')
  t.equal(decide(input({ token: removed(101), permissions: perms('create_merge_request') })).reason, 'access_removed_by_group')
  t.equal(decide(input({ token: removed(101), owner: owner({ memberships: [] }) })).reason, 'access_removed_by_group')
  // Not a namespace: user and instance resources are no group's business.
  const user = token({ removedFromGroups: [100], scopes: [{ access: 'user', namespace_id: null, permissions: ['read_user'] }] })
  t.equal(decide(input({ token: user, resourceType: 'user', resource: { userId: 2 }, permissions: perms('read_user') })).allowed, true)
  t.match(decide(input({ token: removed(101) })), { allowed: false, token: { id: 7 } }, 'the deny names the token, like the others after it')
})

t.test('approval pending: the top-level group asked, while its policy requires approval; after removals, before policy and scopes', async (t) => {
  const asks = { allowLegacyTokens: true, legacyBlockedFrom: null, allowedIpRanges: [], blockedPermissions: [], requireApproval: true }
  const strict = { ...asks, allowedIpRanges: ['192.168.0.1/32'], blockedPermissions: ['read_code'] }
  const pending = (...groups: number[]) => token({ awaitingApprovalIn: groups })
  t.match(decide(input({ token: pending(100), policies: [asks] })), { allowed: false, reason: 'approval_pending', token: { id: 7 } }, 'a project of the group')
  t.equal(decide(input({ token: pending(100), policies: [asks], resource: ACME, resourceType: 'group', permissions: perms('read_group') })).reason, 'approval_pending', 'the group itself, before scope matching')
  t.equal(decide(input({ token: pending(100), policies: [{ ...asks, requireApproval: false }] })).allowed, true, 'the policy switched off: no longer asks')
  t.equal(decide(input({ token: pending(100) })).allowed, true, 'no policy entry (an entry cached before the knob): no deny')
  t.equal(decide(input({ token: pending(200), policies: [asks] })).allowed, true, 'pending in another group: works here')
  t.equal(decide(input({ token: pending(101), policies: [asks] })).allowed, true, 'only top-level groups are asked')
  t.equal(decide(input({ token: pending(100), policies: [strict] })).reason, 'approval_pending', 'before the group\'s other knobs')
  t.equal(decide(input({ token: pending(100), policies: [asks], permissions: perms('create_merge_request') })).reason, 'approval_pending', 'before permissions')
  t.equal(decide(input({ token: token({ awaitingApprovalIn: [100], removedFromGroups: [101] }), policies: [asks] })).reason, 'access_removed_by_group', 'a removal names the group\'s stronger decision')
  t.equal(decide(input({ token: token({ awaitingApprovalIn: [100], revoked: true }), policies: [asks] })).reason, 'token_revoked')
  const user = token({ awaitingApprovalIn: [100], scopes: [{ access: 'user', namespace_id: null, permissions: ['read_user'] }] })
  t.equal(decide(input({ token: user, policies: [asks], resourceType: 'user', resource: { userId: 2 }, permissions: perms('read_user') })).allowed, true, 'not a namespace')
})

t.test('details: missing permissions by title, expired from 00:00 UTC, passing policies', async (t) => {
  t.same(decide(input({ permissions: perms('read_code', 'create_merge_request', 'approve_merge_request') })).missing, ['Merge request: Create', 'Merge request: Approve'])
  t.equal(decide(input({ token: token({ expiresAt: '2030-06-16' }) })).allowed, true, 'still valid the day before')
  t.equal(decide(input({ policies: [{ allowLegacyTokens: false, legacyBlockedFrom: null, allowedIpRanges: ['10.0.0.1/32'], blockedPermissions: ['push_code'] }] })).allowed, true)
  t.same(decide(input({ owner: owner({ memberships: [[100, 20, null]] }), permissions: perms('push_code') })).missing, ['Code: Push'])
  t.equal(decide(input({ owner: owner({ memberships: [[100, 30, '2030-06-15'], [102, 40, '2030-06-01']] }) })).reason, 'insufficient_role', 'expired memberships do not count')
})

t.test('scope kinds', async (t) => {
  const all = token({ scopes: [{ access: 'all_memberships', namespace_id: null, permissions: ['read_code'] }] })
  t.equal(decide(input({ token: all })).allowed, true)
  t.equal(decide(input({ token: all, resource: OTHER })).reason, 'resource_not_in_scope')
  const personal = token({ scopes: [{ access: 'personal_projects', namespace_id: null, permissions: ['push_code'] }] })
  t.equal(decide(input({ token: personal, resource: DOTFILES, permissions: perms('push_code') })).allowed, true, 'owner of their personal projects')
  t.equal(decide(input({ token: personal })).reason, 'resource_not_in_scope')
  const user = token({ scopes: [{ access: 'user', namespace_id: null, permissions: ['read_user'] }] })
  t.equal(decide(input({ token: user, resourceType: 'user', resource: { userId: 2 }, permissions: perms('read_user') })).allowed, true)
  t.equal(decide(input({ token: user, resourceType: 'user', resource: { userId: 3 }, permissions: perms('read_user') })).reason, 'resource_not_in_scope')
  const instance = token({ scopes: [{ access: 'instance', namespace_id: null, permissions: ['read_audit_events'] }] })
  t.equal(decide(input({ token: instance, resourceType: 'instance', resource: 'instance', permissions: perms('read_audit_events') })).reason, 'insufficient_role', 'not an admin')
  t.equal(decide(input({ token: instance, owner: owner({ isAdmin: true }), resourceType: 'instance', resource: 'instance', permissions: perms('read_audit_events') })).allowed, true)
  const legacy = token({ kind: 'legacy', legacyScopes: ['read_repository'], scopes: [] })
  t.equal(decide(input({ token: legacy })).allowed, true)
  t.equal(decide(input({ token: legacy, permissions: perms('push_code') })).reason, 'permission_not_granted')
  t.equal(decide(input({ token: legacy, resource: OTHER })).reason, 'insufficient_role', 'legacy reaches only what the owner can')
  t.equal(decide(input({ token: legacy, resource: PUBLIC })).allowed, true, 'public read')
  t.equal(decide(input({ token: token({ kind: 'legacy', legacyScopes: ['api'] }), resource: PUBLIC, permissions: perms('push_code') })).reason, 'insufficient_role', 'public is read-only')
})

t.test('legacy sudo and admin_mode: GitLab\'s admin scopes grant no ordinary access', async (t) => {
  const admin = owner({ isAdmin: true })
  const legacy = (...legacyScopes: string[]) => token({ kind: 'legacy', legacyScopes, scopes: [] })
  const onInstance = (name: string, over: Partial<DecisionInput> = {}) =>
    decide(input({ resourceType: 'instance', resource: 'instance', permissions: perms(name), owner: admin, ...over }))

  t.equal(onInstance('act_as_user', { token: legacy('sudo') }).allowed, true, 'sudo: an administrator may act as another user')
  t.equal(onInstance('act_as_user', { token: legacy('sudo'), owner: owner() }).reason, 'insufficient_role', 'sudo of an owner no longer admin: denied')
  const apiOnly = onInstance('act_as_user', { token: legacy('api') })
  t.equal(apiOnly.reason, 'permission_not_granted', 'api does not hold act_as_user: acting as another user needs sudo, as GitLab')
  t.same(apiOnly.missing, ['User: Act as (sudo)'])
  t.equal(onInstance('impersonate_user', { token: legacy('api') }).allowed, true, 'api still creates impersonation tokens, as GitLab')
  t.equal(decide(input({ token: legacy('sudo'), owner: admin })).reason, 'permission_not_granted', 'sudo alone reads no code')
  t.equal(onInstance('read_audit_events', { token: legacy('sudo') }).reason, 'permission_not_granted', 'sudo alone is no admin access')

  t.equal(onInstance('read_audit_events', { token: legacy('api') }).allowed, true, 'admin mode off: api holds the admin permissions (admin_mode changes nothing)')
  t.equal(onInstance('read_audit_events', { token: legacy('api', 'admin_mode') }).allowed, true)
  const locked = onInstance('read_audit_events', { token: legacy('api'), adminMode: true })
  t.equal(locked.reason, 'permission_not_granted', 'admin mode on: api without admin_mode holds no admin permission')
  t.same(locked.missing, ['Audit event: Read'])
  t.equal(onInstance('read_audit_events', { token: legacy('api', 'admin_mode'), adminMode: true }).allowed, true, 'admin mode on: api + admin_mode')
  t.equal(onInstance('read_audit_events', { token: legacy('admin_mode'), adminMode: true }).reason, 'permission_not_granted', 'admin_mode alone grants nothing')
  t.equal(decide(input({ token: legacy('admin_mode'), adminMode: true })).reason, 'permission_not_granted', 'nor ordinary access')
  t.equal(onInstance('read_audit_events', { token: legacy('api', 'admin_mode'), owner: owner(), adminMode: true }).reason, 'insufficient_role', 'admin_mode never makes a non-admin one')
  t.equal(onInstance('act_as_user', { token: legacy('sudo'), adminMode: true }).reason, 'permission_not_granted', 'admin mode on: sudo needs admin_mode too')
  t.equal(onInstance('act_as_user', { token: legacy('sudo', 'admin_mode'), adminMode: true }).allowed, true)
  t.equal(decide(input({ token: legacy('api'), adminMode: true })).allowed, true, 'admin mode on: ordinary permissions unaffected')
  const instance = token({ scopes: [{ access: 'instance', namespace_id: null, permissions: ['read_audit_events'] }] })
  t.equal(onInstance('read_audit_events', { token: instance, adminMode: true }).allowed, true, 'a fine-grained instance scope is its own explicit opt-in')
})

t.test('resolvePermissions: unknown names and boundary mismatches are request errors', async (t) => {
  t.match(resolvePermissions(['read_code', 'nope'], 'project'), { ok: false, index: 1 })
  t.match(resolvePermissions(['read_user'], 'project'), { ok: false, problem: /does not apply to a project/ })
  t.match(resolvePermissions(['read_code'], 'project'), { ok: true })
})

// Property tests: whatever the token says, it never exceeds its owner and never works outside its scope.
const levels = fc.constantFrom(0, 10, 15, 20, 30, 40, 50)
const projectPerms = PERMISSIONS.filter((p) => p.boundaries.includes('project') && !p.includes).map((p) => p.name)
t.test('property: an allowed decision implies owner role, scope coverage and a granted permission', async (t) => {
  fc.assert(
    fc.property(
      levels, levels, fc.constantFrom(...projectPerms), fc.subarray(projectPerms, { maxLength: 8 }),
      fc.constantFrom<NamespaceEntry['visibility']>('private', 'internal', 'public'), fc.constantFrom(100, 101, 102, 200),
      (groupLevel, projectLevel, asked, granted, visibility, scopeNs) => {
        const memberships: [number, number, string | null][] = []
        if (groupLevel) memberships.push([100, groupLevel, null])
        if (projectLevel) memberships.push([102, projectLevel, null])
        const resource = { ...API, visibility }
        const d = decide(input({
          owner: owner({ memberships }), resource, permissions: perms(asked),
          token: token({ scopes: [{ access: 'selected_memberships', namespace_id: scopeNs, permissions: granted }] }),
        }))
        if (!d.allowed) return true
        const p = getPermission(asked)!
        const level = Math.max(groupLevel, projectLevel)
        const roleOk = level >= p.minAccessLevel && level > 0
        const publicOk = p.publicRead && visibility !== 'private'
        return (roleOk || publicOk) && resource.traversalIds.includes(scopeNs) && granted.includes(asked)
      },
    ),
    { numRuns: 3000 },
  )
})

t.test('property: revoked, expired or blocked is never allowed', async (t) => {
  fc.assert(
    fc.property(fc.boolean(), fc.integer({ min: -5, max: 5 }), fc.constantFrom<OwnerEntry['state']>('active', 'blocked', 'deactivated'), (revoked, days, state) => {
      const expiresAt = new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10)
      const d = decide(input({ token: token({ revoked, expiresAt }), owner: owner({ state }) }))
      return !d.allowed || (!revoked && days > 0 && state === 'active')
    }),
  )
})
