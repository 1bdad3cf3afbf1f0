// Pure rules of service accounts: GitLab's generated username, the directory's checks, and the
// scopes a service account's token may take (its group only).
import t from 'tap'
import { scopesOutsideGroup, SERVICE_ACCOUNT_ID_FLOOR, serviceAccountUsername, userKindProblem } from '../../src/domain/service-accounts.js'

t.test('usernames as GitLab generates them, never twice the same', async (t) => {
  const a = serviceAccountUsername(345)
  t.match(a, /^service_account_group_345_[0-9a-f]{32}$/)
  t.not(a, serviceAccountUsername(345))
})

t.test('directory users: kind and group go together; the API range is not the directory\'s', async (t) => {
  t.equal(userKindProblem(1, {}), undefined)
  t.equal(userKindProblem(1, { kind: 'service_account', service_account_group_id: 9 }), undefined)
  t.match(userKindProblem(1, { kind: 'service_account' }), { field: 'service_account_group_id' })
  t.match(userKindProblem(1, { kind: 'human', service_account_group_id: 9 }), { field: 'service_account_group_id' })
  t.match(userKindProblem(SERVICE_ACCOUNT_ID_FLOOR, {}), { field: 'id' })
  t.ok(SERVICE_ACCOUNT_ID_FLOOR < Number.MAX_SAFE_INTEGER)
})

t.test('scopes outside the owning group are named at their field', async (t) => {
  const roots = new Map([[200, 200], [201, 200], [102, 100]])
  const root = (id: number) => roots.get(id)
  t.same(scopesOutsideGroup([{ access: 'selected_memberships', group_ids: [200], project_ids: [201] }], 200, root), [])
  t.same(scopesOutsideGroup([{ access: 'selected_memberships', project_ids: [201, 102] }], 200, root).map((p) => p.path), ['body.granular_scopes[0].project_ids[1]'])
  t.same(scopesOutsideGroup([{ access: 'selected_memberships', group_id: 102 }], 200, root).map((p) => p.path), ['body.granular_scopes[0].group_id'])
  t.same(scopesOutsideGroup([{ access: 'all_memberships' }, { access: 'user' }], 200, root).map((p) => p.path), ['body.granular_scopes[0].access', 'body.granular_scopes[1].access'])
  t.same(scopesOutsideGroup([{ access: 'selected_memberships', project_ids: [999] }], 200, root), [], 'an unknown namespace is left to the ordinary validation')
})
