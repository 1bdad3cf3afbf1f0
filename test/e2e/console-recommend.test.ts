// Least privilege in the console: a token exercised through POST /authorize shows its recommendation
// in the drawer (summary, confidence, used / denied / unused, recommended scopes); "Apply
// recommendation" asks for confirmation, applies it, and the API shows the narrowed token. A token
// with too little evidence says so in words. Scanned with axe.
import t from 'tap'
import { inDays } from '../helpers/fixtures.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

interface TokenJson { id: number; token?: string; granular_scopes: { access: string; permissions: string[]; project_id: number | null; group_id: number | null }[] }

t.test('the drawer recommends least privilege and applies it', async (t) => {
  const c = await startConsole(t)
  const alice = { authorization: `Bearer ${await c.jwt.user(2)}` }
  const create = async (name: string) => {
    const res = await c.app.inject({
      method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: alice,
      payload: { name, expires_at: inDays(60), granular_scopes: [{ access: 'all_memberships', permissions: ['read_code', 'push_code', 'create_merge_request', 'read_issue'] }] },
    })
    t.equal(res.statusCode, 201)
    return res.json() as TokenJson
  }
  const ci = await create('CI reader')
  const fresh = await create('Fresh token')

  const headers = { authorization: `Bearer ${await c.jwt.service('backend', ['authorize'])}` }
  const ask = async (token: string, permission: string, id: number) => {
    const res = await c.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token, permission, resource: { type: 'project', id } } })
    return (res.json() as { allowed: boolean }).allowed
  }
  for (let i = 0; i < 8; i++) t.equal(await ask(ci.token!, 'read_code', 102), true)
  t.equal(await ask(ci.token!, 'delete_project', 102), false)
  t.equal(await ask(fresh.token!, 'read_code', 102), true)
  await c.app.usage.flush()
  // Yesterday's runs of the same job (a second day of evidence), in the real usage table.
  await c.app.db.insertInto('token_usage_daily').values({ token_id: ci.id, day: inDays(-1), permission: 'read_code', namespace_id: 102, allowed: 8, denied: 0 }).execute()

  const page = await c.newPage()
  await signInAs(page, 'alice', `/console/tokens/${fresh.id}`)
  const freshDrawer = page.getByRole('dialog', { name: 'Fresh token' })
  const freshSection = freshDrawer.getByTestId('drawer-least-privilege')
  await freshSection.getByTestId('lp-reason').waitFor()
  t.match(await freshSection.getByTestId('lp-reason').textContent(), /Not enough evidence to recommend anything yet\. Too little evidence: 1 allowed decision on 1 day/)
  t.equal(await freshSection.getByRole('button', { name: 'Apply recommendation' }).count(), 0, 'nothing to apply from too little')

  await page.goto(`/console/tokens/${ci.id}`)
  const drawer = page.getByRole('dialog', { name: 'CI reader' })
  const section = drawer.getByTestId('drawer-least-privilege')
  await section.getByTestId('lp-summary').waitFor()
  t.match(await section.getByTestId('lp-summary').textContent(), /^4 permissions on all memberships \(\d+ projects\) → 1 permission on 1 project$/)
  t.match(await section.getByTestId('lp-confidence').textContent(), /Low/)
  t.match(await section.getByTestId('lp-recommended').textContent(), /acme\/platform\/api.*read_code/)
  t.match(await section.getByTestId('lp-used').textContent(), /read_code.*16 allowed/)
  t.match(await section.getByTestId('lp-denied').textContent(), /delete_project.*1 denied/)
  t.match(await section.getByTestId('lp-unused').textContent(), /Code: Push|push/i)
  await expectAccessible(t, page, 'drawer with a recommendation')
  await screenshot(page, 'token-drawer-least-privilege')

  await section.getByRole('button', { name: 'Apply recommendation' }).click()
  const confirm = page.getByRole('dialog', { name: /Apply the recommendation to “CI reader”\?/ })
  await confirm.waitFor()
  await expectAccessible(t, page, 'apply confirmation')
  await confirm.getByRole('button', { name: 'Apply', exact: true }).click()
  await drawer.getByTestId('drawer-notice').waitFor()
  t.match(await drawer.getByTestId('drawer-notice').textContent(), /Recommendation applied/)
  await section.getByText('Already least privilege: this token holds exactly what it used.').waitFor()

  const after = (await c.app.inject({ method: 'GET', url: `/api/v4/personal_access_tokens/${ci.id}`, headers: alice })).json() as TokenJson
  t.same(after.granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_id: 102, group_id: null }], 'the API shows the narrowed token')
  t.equal(await ask(ci.token!, 'read_code', 102), true, 'the job still works')
  t.equal(await ask(ci.token!, 'push_code', 102), false, 'what it never used no longer does')
})
