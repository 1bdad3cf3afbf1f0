// The governance pages: the credential inventory (instance for administrators, a group for its
// owners) with counts, filters, CSV export, revoke and group access removal; the token policy
// (instance settings) with field errors; and neither for a user who governs nothing.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)

t.test('console: inventory and policy', async (t) => {
  const c = await startConsole(t)
  const call = async (userId: number, path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${c.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${await c.jwt.user(userId)}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })
    return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, any> }
  }
  const create = async (userId: number, body: unknown) => {
    const res = await call(userId, '/api/v4/user/personal_access_tokens', { method: 'POST', body })
    t.equal(res.status, 201, 'token created')
    return res.json as { id: number; name: string }
  }
  // alice's cli token reaches bob's group opensource (200); her api token does not.
  const aliceCli = await create(2, { name: 'alice cli reader', expires_at: inDays(20), granular_scopes: [{ access: 'selected_memberships', project_ids: [201], permissions: ['read_code'] }] })
  const aliceApi = await create(2, { name: 'alice api reader', expires_at: inDays(60), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] })
  const bobUser = await create(3, { name: 'bob profile', expires_at: inDays(30), granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })

  t.test('root: every user\'s tokens, counts, a filter, CSV export, revoke', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'root', '/console/inventory')
    await page.getByRole('heading', { name: 'Credential inventory' }).waitFor()
    // The admin links appear once the console has loaded what the caller governs (App.vue's
    // `governs`), which can come after the view's heading: wait for them (a timeout fails the test).
    for (const name of ['Inventory', 'Policy']) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).waitFor({ state: 'visible', timeout: 10_000 })
      t.pass(`nav shows ${name}`)
    }
    await page.getByTestId(`inventory-row-${bobUser.id}`).waitFor()
    for (const tok of [aliceCli, aliceApi, bobUser]) t.ok(await page.getByTestId(`inventory-row-${tok.id}`).isVisible(), `${tok.name} listed`)
    await page.getByTestId(`inventory-row-${aliceCli.id}`).filter({ hasText: 'Alice Developer (@alice)' }).waitFor()
    t.match(await page.getByTestId(`inventory-row-${aliceCli.id}`).textContent(), /Alice Developer \(@alice\).*alice cli reader.*Fine-grained.*1 permission on/)
    const summary = (await call(1, '/api/v4/admin/personal_access_tokens/summary')).json
    t.equal(Number(await page.getByTestId('summary-total').locator('.summary-value').textContent()), summary.total, 'total as the API counts')
    t.equal(Number(await page.getByTestId('summary-active').locator('.summary-value').textContent()), summary.by_state.active)
    t.ok(summary.total >= 3)
    await expectAccessible(t, page, 'inventory (root, desktop)')
    await screenshot(page, 'inventory-desktop')

    // A filter narrows the list: only tokens holding read_code (alice's two).
    await page.getByLabel('Permission', { exact: true }).fill('read_code')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByTestId(`inventory-row-${bobUser.id}`).waitFor({ state: 'detached' })
    t.equal(await page.getByTestId('inventory-table').locator('tbody tr').count(), 2, 'only the read_code tokens')

    // CSV export of the filtered list.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    t.equal(download.suggestedFilename(), 'personal_access_tokens-instance.csv')
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n')
    t.match(csv[0], /^id,user_id,name/, 'header row')
    t.same(csv.slice(1).map((l) => Number(l.split(',')[0])).sort(), [aliceCli.id, aliceApi.id].sort(), 'the filtered tokens, one row each')
    t.match(csv.join('\n'), /alice cli reader/)

    // Sorting is the API's: latest expiry first puts the 60-day token on top.
    await page.getByLabel('Sort by').selectOption('expires_desc')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByTestId('inventory-table').locator('tbody tr').first().and(page.getByTestId(`inventory-row-${aliceApi.id}`)).waitFor()
    await page.getByLabel('Sort by').selectOption('expires_asc')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByTestId('inventory-table').locator('tbody tr').first().and(page.getByTestId(`inventory-row-${aliceCli.id}`)).waitFor()
    t.pass('sorted both ways')

    // Search by token name narrows further, then clearing it brings the other back.
    await page.getByLabel('Token name').fill('cli reader')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByTestId(`inventory-row-${aliceApi.id}`).waitFor({ state: 'detached' })
    t.equal(await page.getByTestId('inventory-table').locator('tbody tr').count(), 1, 'only the token named like the search')
    await page.getByLabel('Token name').fill('')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByTestId(`inventory-row-${aliceApi.id}`).waitFor()

    // Revoke alice's api token through the modal.
    await page.getByRole('button', { name: `Revoke ${aliceApi.name}` }).click()
    const dialog = page.getByRole('dialog', { name: `Revoke “${aliceApi.name}”?` })
    await dialog.waitFor()
    await expectAccessible(t, page, 'revoke dialog')
    await dialog.getByLabel('Reason (optional)').fill('left the company')
    await dialog.getByRole('button', { name: 'Revoke token' }).click()
    await page.getByTestId('inventory-status').getByText(`Token “${aliceApi.name}” revoked.`).waitFor()
    const shown = (await call(2, `/api/v4/personal_access_tokens/${aliceApi.id}`)).json
    t.equal(shown.state, 'revoked', 'the API shows it revoked')
    const [event] = (await call(1, `/api/v4/audit_events?action=token.revoked&target_id=${aliceApi.id}`)).json as Array<{ details: Record<string, unknown> }>
    t.match(event?.details, { revoke_reason: 'admin', comment: 'left the company' }, 'the reason is kept in the audit event')
    t.match(await page.getByTestId(`inventory-row-${aliceApi.id}`).textContent(), /revoked/)
  })

  t.test('root: instance policy, saved through PUT; a bad value is refused at its field', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'root', '/console/policy')
    await page.getByRole('heading', { name: 'Instance token settings' }).waitFor()
    const field = page.getByLabel('Default lifetime (days)')
    await field.waitFor()
    t.equal(await field.getAttribute('aria-describedby'), 'policy-default_lifetime_days-help', 'help text tied to the field')
    await field.fill('45')
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.getByTestId('policy-status').getByText(/Saved/).waitFor()
    t.equal((await call(1, '/api/v4/application/settings/personal_access_tokens')).json.default_lifetime_days, 45, 'the API has the new value')
    await expectAccessible(t, page, 'policy (root, desktop)')
    await screenshot(page, 'policy-desktop')

    await page.getByLabel('Maximum lifetime (days)').fill('999')
    await page.getByRole('button', { name: 'Save policy' }).click()
    const error = page.getByTestId('error-max_lifetime_days')
    await error.waitFor()
    t.match(await error.textContent(), /400|less|maximum|must/i, 'the API\'s message next to the field')
    t.equal(await page.getByLabel('Maximum lifetime (days)').getAttribute('aria-invalid'), 'true')
    t.match(await page.getByLabel('Maximum lifetime (days)').getAttribute('aria-describedby'), /policy-max_lifetime_days-error/)
    t.not((await call(1, '/api/v4/application/settings/personal_access_tokens')).json.max_lifetime_days, 999, 'nothing saved')
  })

  t.test('bob (owner of opensource): his group inventory; remove and restore group access', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'bob')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inventory' }).click()
    await page.getByRole('heading', { name: 'Credential inventory' }).waitFor()
    await page.getByLabel('Scope').selectOption('group:200')
    const row = page.getByTestId(`inventory-row-${aliceCli.id}`)
    await row.waitFor()
    t.match(page.url(), /scope=group(%3A|:)200/, 'the scope is kept in the address')
    t.equal(await page.getByTestId(`inventory-row-${aliceApi.id}`).count(), 0, 'a token that cannot reach the group is not listed')

    await page.getByRole('button', { name: `Remove group access of ${aliceCli.name}` }).click()
    const dialog = page.getByRole('dialog', { name: /Remove .*access from “alice cli reader”\?/ })
    await dialog.waitFor()
    await dialog.getByLabel('Reason (optional)').fill('Left the project')
    await dialog.getByRole('button', { name: 'Remove access' }).click()
    await page.getByTestId('inventory-status').getByText(/access removed/).waitFor()
    let shown = (await call(2, `/api/v4/personal_access_tokens/${aliceCli.id}`)).json
    t.equal(shown.group_access_removals.length, 1, 'the token lists the removal')
    t.equal(shown.group_access_removals[0].group_id, 200)
    t.match(JSON.stringify(shown.group_access_removals[0]), /Left the project/)
    await row.getByText('group access removed').waitFor()

    await page.getByRole('button', { name: `Restore group access of ${aliceCli.name}` }).click()
    await page.getByRole('dialog', { name: /Restore/ }).getByRole('button', { name: 'Restore access' }).click()
    await page.getByTestId('inventory-status').getByText(/restored/).waitFor()
    shown = (await call(2, `/api/v4/personal_access_tokens/${aliceCli.id}`)).json
    t.same(shown.group_access_removals, [], 'the removal is gone')
  })

  t.test('bob: the policy of his top-level group', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'bob', '/console/policy')
    await page.getByRole('heading', { name: /Token policy of Open Source/ }).waitFor()
    t.equal(await page.getByLabel('Token prefix').count(), 0, 'instance-only knobs are not offered')
    await page.getByLabel('Maximum lifetime (days)').fill('90')
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.getByTestId('policy-status').getByText(/Saved/).waitFor()
    t.equal((await call(3, '/api/v4/groups/200/personal_access_token_policy')).json.max_lifetime_days, 90, 'the group policy has it')
    await expectAccessible(t, page, 'group policy (bob)')
  })

  t.test('phone width: both pages usable without horizontal scroll', async (t) => {
    const page = await c.newPage('phone')
    await signInAs(page, 'root', '/console/inventory')
    await page.getByTestId(`inventory-row-${bobUser.id}`).waitFor()
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'inventory: no horizontal scroll')
    await expectAccessible(t, page, 'inventory (phone)')
    await screenshot(page, 'inventory-phone')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click()
    await page.getByLabel('Default lifetime (days)').waitFor()
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'policy: no horizontal scroll')
    await expectAccessible(t, page, 'policy (phone)')
    await screenshot(page, 'policy-phone')
  })

  t.test('alice governs nothing: no links, a friendly message', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice')
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'My tokens' }).waitFor()
    await page.waitForLoadState('networkidle')
    t.equal(await nav.getByRole('link', { name: 'Inventory' }).count(), 0, 'no Inventory link')
    t.equal(await nav.getByRole('link', { name: 'Policy' }).count(), 0, 'no Policy link')
    await page.goto('/console/inventory')
    await page.getByTestId('nothing-to-manage').waitFor()
    t.match(await page.getByTestId('nothing-to-manage').textContent(), /Nothing to manage here/)
    await page.goto('/console/policy')
    await page.getByTestId('nothing-to-manage').waitFor()
  })
})
