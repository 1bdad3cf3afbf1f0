// Permission guidance in the generate form: describe the job in plain words, add what the
// suggestions rank first (with why they matched), and the token holds exactly those permissions.
import t from 'tap'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

const API_PROJECT = 102

interface TokenJson {
  id: number
  name: string
  granular_scopes: { access: string; permissions: string[]; project_id: number | null; group_id: number | null }[]
}

t.test('console: describe what the job does, add the suggestions', async (t) => {
  const c = await startConsole(t)
  const page = await c.newPage('desktop')
  await signInAs(page, 'alice', '/console/tokens/new')
  await page.getByRole('heading', { name: 'Generate a fine-grained token' }).waitFor()
  await page.getByLabel('Token name').fill('ci bot')
  const scope = page.getByTestId('scope-0')
  await scope.getByLabel('Search your groups and projects').fill('API')
  await scope.getByRole('checkbox', { name: /ACME Corp \/ Platform \/ API/ }).check()

  await scope.getByLabel('Describe what the job does').fill('clone the repo and open merge requsts')
  await scope.getByRole('status').filter({ hasText: /\d+ suggestions for “clone the repo and open merge requsts”/ }).waitFor()
  const list = scope.getByRole('list', { name: 'Suggested permissions for clone the repo and open merge requsts' })
  const items = list.getByRole('listitem')
  t.match(await items.nth(0).textContent(), /Code: Read read_code.*For: clone the repo.*“clone”/s, 'the first clause\'s best first, with why')
  t.match(await items.nth(1).textContent(), /Merge request: Create create_merge_request.*For: open merge requsts.*“open” → create.*verb/s)
  t.match(await items.nth(1).textContent(), /“requsts” → request.*typo/s, 'a typo is named as one')
  await expectAccessible(t, page, 'generate form with suggestions')
  await screenshot(page, 'generate-suggestions-desktop')

  await list.getByRole('button', { name: 'Add Code: Read (read_code)' }).click()
  await list.getByRole('button', { name: 'Add Merge request: Create (create_merge_request)' }).click()
  const added = list.getByRole('button', { name: 'Code: Read (read_code) added' })
  t.equal(await added.isDisabled(), true, 'an added suggestion cannot be added twice')
  t.match(await scope.getByTestId(/-chosen$/).textContent(), /read_code.*create_merge_request/s, 'both are chosen in this scope')

  // A suggestion that cannot apply to selected projects is disabled, with the reason.
  await scope.getByLabel('Describe what the job does').fill('read my user profile')
  await scope.getByRole('status').filter({ hasText: /suggestions? for “read my user profile”/ }).waitFor()
  const readUser = scope.getByRole('button', { name: 'Add User profile: Read (read_user)' })
  t.equal(await readUser.isDisabled(), true)
  t.match(await page.locator(`#${await readUser.getAttribute('aria-describedby')}`).textContent(), /Applies to your user account, not to selected groups and projects/)

  // Nothing matching says so in the status, with a hint.
  await scope.getByLabel('Describe what the job does').fill('zzqqxx')
  await scope.getByRole('status').filter({ hasText: /Nothing matched.*zzqqxx/ }).waitFor()

  await page.getByTestId('preview-summary').filter({ hasText: '2 permissions on 1 project.' }).waitFor()
  await page.getByRole('button', { name: 'Generate token' }).click()
  await page.getByRole('heading', { name: 'Token “ci bot” created' }).waitFor()

  const res = await fetch(`${c.baseUrl}/api/v4/personal_access_tokens?per_page=100`, { headers: { authorization: `Bearer ${await c.jwt.user(2)}` } })
  const token = ((await res.json()) as TokenJson[]).find((x) => x.name === 'ci bot')
  t.ok(token, 'the token exists')
  t.same(token?.granular_scopes.map((s) => ({ ...s, permissions: [...s.permissions].sort() })), [
    { access: 'selected_memberships', permissions: ['create_merge_request', 'read_code'], project_id: API_PROJECT, group_id: null },
  ], 'the token holds exactly the two suggestions added')
})
