// The "Approval requests" tab of a group's inventory, against the real service: bob owns
// opensource (200), which requires approval; alice's new token reaching it is pending there. Bob
// sees the request with alice's reason, approves it with a comment, and the token is allowed on
// the group at once. Scanned with axe.
import t from 'tap'
import { inDays } from '../helpers/fixtures.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

t.test('console: a group owner approves a token\'s request', async (t) => {
  const c = await startConsole(t)
  const as = async (userId: number) => ({ authorization: `Bearer ${await c.jwt.user(userId)}` })
  // Bob switches the policy on in the console's policy page.
  const page = await c.newPage('desktop')
  await signInAs(page, 'bob', '/console/policy')
  await page.getByRole('heading', { name: /Token policy of Open Source/ }).waitFor()
  await page.getByLabel('Require approval of tokens').check()
  await page.getByRole('button', { name: 'Save policy' }).click()
  await page.getByTestId('policy-status').getByText(/Saved/).waitFor()
  const policy = await c.app.inject({ url: '/api/v4/groups/200/personal_access_token_policy', headers: await as(3) })
  t.equal(policy.json().require_approval, true, 'the group policy has it')
  const created = await c.app.inject({
    method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await as(2),
    payload: { name: 'cli release', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [201], permissions: ['read_code'] }], approval_reason: 'tags CLI releases' },
  })
  t.equal(created.statusCode, 201, created.body)
  const token = created.json() as { id: number; token: string }
  const backend = { authorization: `Bearer ${await c.jwt.service('backend', ['authorize'])}` }
  const decision = async () => (await c.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: backend, payload: { token: token.token, permission: 'read_code', resource: { type: 'project', id: 201 } } })).json() as { reason: string }
  t.equal((await decision()).reason, 'approval_pending')

  await page.goto('/console/inventory?scope=group:200')
  await page.getByRole('link', { name: 'Approval requests' }).click()
  const row = page.locator('[data-testid^="approval-row-"]').filter({ hasText: 'cli release' })
  await row.waitFor()
  t.match(page.url(), /[?&]view=requests/, 'the view is in the address')
  t.match(await row.textContent(), /cli release.*\(@alice\).*tags CLI releases.*pending/)
  await expectAccessible(t, page, 'approval requests (bob)')
  await screenshot(page, 'approval-requests')

  await row.getByRole('button', { name: 'Approve' }).click()
  await page.getByLabel('Comment (optional)').fill('fine for releases')
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click()
  await page.getByTestId('approval-status').getByText(/approved/).waitFor()
  t.match(await page.getByTestId('approval-status').textContent(), /“cli release” of @alice approved/)
  t.equal((await decision()).reason, 'allowed', 'the token works on the group at once')
  await page.getByLabel('State').selectOption('approved')
  await row.waitFor()
  t.match(await row.textContent(), /approved.*fine for releases/)
})
