import t from 'tap'
import { checkScopeShapes } from '../../src/domain/scopes.js'
import { type NamespaceFact, recommend, type RecommendationInput, type UsageAggregate } from '../../src/domain/recommend.js'
import { confidenceOf, MIN_ALLOWED_DECISIONS, MIN_DAYS } from '../../src/domain/recommend-evidence.js'

// The test directory (test/helpers/fixtures.ts), as namespace facts, with projects per group alice's
// all_memberships token reaches: acme 102, 103, 105 (+ 106, 107 added here); platform 102, 105; infra 105.
const ns = (id: number, kind: NamespaceFact['kind'], traversal: number[], path: string, reachable?: number): NamespaceFact => ({
  id, kind, parent_id: traversal.length > 1 ? traversal[traversal.length - 2] : null, traversal_ids: traversal, full_path: path,
  ...(reachable !== undefined ? { reachable_projects: reachable } : {}),
})
const NAMESPACES = [
  ns(100, 'group', [100], 'acme', 5),
  ns(101, 'group', [100, 101], 'acme/platform', 2),
  ns(102, 'project', [100, 101, 102], 'acme/platform/api'),
  ns(103, 'project', [100, 103], 'acme/website'),
  ns(104, 'group', [100, 101, 104], 'acme/platform/infra', 1),
  ns(105, 'project', [100, 101, 104, 105], 'acme/platform/infra/terraform'),
  ns(106, 'project', [100, 106], 'acme/docs'),
  ns(107, 'project', [100, 107], 'acme/blog'),
  ns(300, 'user', [300], 'alice', 2),
  ns(301, 'project', [300, 301], 'alice/dotfiles'),
  ns(302, 'project', [300, 302], 'alice/notes'),
]

const TWELVE = [
  'read_code', 'push_code', 'create_merge_request', 'read_merge_request', 'read_issue', 'create_issue',
  'read_pipeline', 'read_job', 'read_release', 'read_wiki', 'read_package', 'read_container_image',
]

function input(usage: UsageAggregate[], over: Partial<RecommendationInput> = {}): RecommendationInput {
  return {
    token: { kind: 'fine_grained', scopes: [{ access: 'all_memberships', namespace_id: null, permissions: TWELVE }], legacy_scopes: [], owner_is_admin: false },
    usage, allowed_days: 3, namespaces: NAMESPACES, current_reach: { projects: 6, groups: 3 },
    window: { days: 30, since: '2025-01-01', until: '2025-01-30' }, now: new Date('2025-01-30T12:00:00Z'), ...over,
  }
}
const use = (permission: string, namespace_id: number, allowed: number, denied = 0, days = 3): UsageAggregate => ({ permission, namespace_id, allowed, denied, days })

t.test('narrowed to the projects used, exactly', async (t) => {
  const r = recommend(input([use('read_code', 102, 10), use('read_code', 103, 6), use('create_merge_request', 102, 4)]))
  t.same(r.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['create_merge_request', 'read_code'], project_ids: [102] },
    { access: 'selected_memberships', permissions: ['read_code'], project_ids: [103] },
  ])
  t.equal(r.confidence, 'low')
  t.same(r.collapsed, [])
  t.equal(r.summary, '12 permissions on all memberships (6 projects) → 2 permissions on 2 projects')
  t.equal(r.unused.length, 10)
  t.notOk(r.unused.some((u) => u.permission === 'read_code'))
  t.same(r.used.map((u) => [u.permission, u.allowed]), [['read_code', 16], ['create_merge_request', 4]])
  t.same(checkScopeShapes(r.recommended_granular_scopes!), [], 'the recommendation is a valid request')
})

t.test('most of a group\'s reachable projects used: collapsed to the deepest such group, and said so', async (t) => {
  const r = recommend(input([use('read_code', 102, 10), use('read_code', 105, 10)]))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], group_ids: [101] }])
  t.same(r.collapsed, [{ group_id: 101, full_path: 'acme/platform', permissions: ['read_code'], used_projects: 2, reachable_projects: 2 }])
  t.match(r.notes.join(' '), /collapsed to group acme\/platform — 2 of its 2 reachable projects/)
  t.match(r.summary, /→ 1 permission on 1 group \(2 projects in all\)/)
})

t.test('one project of a group is not "most": no collapse below two', async (t) => {
  const r = recommend(input([use('read_code', 105, 20)]))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [105] }], 'infra has 1 reachable project; one use is not a collapse')
})

t.test('half is not most', async (t) => {
  const namespaces = NAMESPACES.map((n) => (n.id === 101 ? { ...n, reachable_projects: 4 } : n))
  const r = recommend(input([use('read_code', 102, 10), use('read_code', 105, 10)], { namespaces }))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [102, 105] }])
})

t.test('no collapse beyond what the token reaches today', async (t) => {
  const token = { kind: 'fine_grained' as const, scopes: [{ access: 'selected_memberships' as const, namespace_id: 102, permissions: ['read_code'] }, { access: 'selected_memberships' as const, namespace_id: 105, permissions: ['read_code'] }], legacy_scopes: [], owner_is_admin: false }
  const r = recommend(input([use('read_code', 102, 10), use('read_code', 105, 10)], { token }))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [102, 105] }])
  t.equal(r.already_least_privilege, true)
  t.match(r.notes.join(' '), /Already least privilege/)
  t.match(r.summary, /already least privilege/)
})

t.test('user-boundary use → user scope; group-boundary use on a group → that group', async (t) => {
  const token = { kind: 'fine_grained' as const, scopes: [
    { access: 'all_memberships' as const, namespace_id: null, permissions: ['read_code', 'read_group'] },
    { access: 'user' as const, namespace_id: null, permissions: ['read_user', 'read_email'] },
  ], legacy_scopes: [], owner_is_admin: false }
  const r = recommend(input([use('read_user', 0, 8), use('read_group', 100, 4)], { token }))
  t.same(r.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['read_group'], group_ids: [100] },
    { access: 'user', permissions: ['read_user'] },
  ])
  t.same(r.used.find((u) => u.permission === 'read_user')?.namespaces, [{ namespace_id: null, kind: 'user', full_path: null, count: 8, days: 3 }])
})

t.test('denied attempts are listed, not recommended', async (t) => {
  const r = recommend(input([use('read_code', 102, 12), use('push_code', 102, 0, 3), use('delete_branch', 102, 0, 2)]))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [102] }])
  t.same(r.denied.map((d) => [d.permission, d.denied, d.held]), [['push_code', 3, true], ['delete_branch', 2, false]])
  t.match(r.notes.join(' '), /denied 2 permissions/)
})

t.test('too little evidence: nothing recommended, and why', async (t) => {
  const few = recommend(input([use('read_code', 102, MIN_ALLOWED_DECISIONS - 1)]))
  t.equal(few.recommended_granular_scopes, null)
  t.equal(few.confidence, 'none')
  t.match(few.reason, /^Too little evidence: 9 allowed decisions on 3 days in the last 30 days/)
  const oneDay = recommend(input([use('read_code', 102, 500, 0, 1)], { allowed_days: MIN_DAYS - 1 }))
  t.equal(oneDay.recommended_granular_scopes, null)
  t.match(oneDay.reason, /on 1 day /)
  t.equal(oneDay.used.length, 1, 'what was seen is still shown')
})

t.test('confidence grows with decisions and days', async (t) => {
  t.equal(confidenceOf({ allowed: 10, denied: 0, days: 2 }), 'low')
  t.equal(confidenceOf({ allowed: 50, denied: 0, days: 7 }), 'medium')
  t.equal(confidenceOf({ allowed: 49, denied: 0, days: 30 }), 'low')
  t.equal(confidenceOf({ allowed: 200, denied: 0, days: 14 }), 'high')
  t.equal(confidenceOf({ allowed: 10_000, denied: 0, days: 13 }), 'medium')
})

t.test('legacy token: recommended as fine-grained scopes, its expansion listed as unused', async (t) => {
  const token = { kind: 'legacy' as const, scopes: [], legacy_scopes: ['api'], owner_is_admin: false }
  const r = recommend(input([use('read_code', 102, 10), use('create_merge_request', 103, 5), use('read_user', 0, 5)], { token }))
  t.same(r.recommended_granular_scopes, [
    { access: 'selected_memberships', permissions: ['read_code'], project_ids: [102] },
    { access: 'selected_memberships', permissions: ['create_merge_request'], project_ids: [103] },
    { access: 'user', permissions: ['read_user'] },
  ])
  t.ok(r.unused.length > 100, 'api holds far more than it used')
  t.match(r.summary, /^\d+ permissions on legacy scopes api on all memberships, personal projects and the user \(6 projects\) → 3 permissions on 2 projects and the user$/)
})

t.test('personal projects: collapsed to personal_projects when most are used', async (t) => {
  const token = { kind: 'fine_grained' as const, scopes: [{ access: 'personal_projects' as const, namespace_id: null, permissions: ['read_code'] }], legacy_scopes: [], owner_is_admin: false }
  const r = recommend(input([use('read_code', 301, 10), use('read_code', 302, 10)], { token }))
  t.same(r.recommended_granular_scopes, [{ access: 'personal_projects', permissions: ['read_code'] }])
  t.equal(r.collapsed[0].group_id, null)
})

t.test('a use the token no longer holds is dropped, not recommended', async (t) => {
  const r = recommend(input([use('read_code', 102, 10), use('delete_project', 102, 5)]))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_ids: [102] }])
  t.same(r.dropped, [{ permission: 'delete_project', namespace_id: 102, why: 'the token no longer holds it on acme/platform/api' }])
})

t.test('a bundle the token holds is narrowed to the member it used', async (t) => {
  const token = { kind: 'fine_grained' as const, scopes: [{ access: 'all_memberships' as const, namespace_id: null, permissions: ['run_job'] }], legacy_scopes: [], owner_is_admin: false }
  const r = recommend(input([use('play_job', 102, 20)], { token }))
  t.same(r.recommended_granular_scopes, [{ access: 'selected_memberships', permissions: ['play_job'], project_ids: [102] }])
  t.same(r.unused.map((u) => u.permission), ['cancel_job', 'retry_job'], 'the bundle itself counts as used through its member')
})
