// "My tokens" in the console against the real service: the list (names of groups and projects,
// tabs, search, sort, pagination), the details drawer (permission titles, usage, lineage, linkable
// by URL), rotation through its modal (the new secret works, the old one no longer) and revocation
// (the API says revoked). Every state is scanned with axe; list and drawer are photographed at
// desktop and phone widths, and the phone page never scrolls sideways.
import { join } from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { inDays } from '../helpers/fixtures.js'
import { ARTIFACTS, expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

interface TokenJson { id: number; name: string; token?: string; state: string; revoked: boolean; previous_personal_access_token_id: number | null }

const noSideScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)

/** The drawer scrolls on its own, so a full-page picture cuts it: its top and its end, as seen. */
async function drawerShots(page: Page, drawer: Locator, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
  await drawer.evaluate((d) => d.scrollTo(0, d.scrollHeight))
  await page.screenshot({ path: join(ARTIFACTS, `${name}-end.png`) })
  await drawer.evaluate((d) => d.scrollTo(0, 0))
}

t.test('my tokens: list, drawer, rotate, revoke', async (t) => {
  const c = await startConsole(t)
  const alice = { authorization: `Bearer ${await c.jwt.user(2)}` }
  const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const res = await c.app.inject({ method, url, headers: alice, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
    return { status: res.statusCode, body: res.body ? (res.json() as TokenJson) : null }
  }
  const create = async (payload: Record<string, unknown>) => {
    const res = await api('POST', '/api/v4/user/personal_access_tokens', payload)
    if (res.status !== 201) throw new Error(`creating ${String(payload.name)}: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body!
  }
  const readCode102 = [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }]

  // 25 filler tokens first, so the named ones are the newest (page 1 under the default sort).
  for (let i = 1; i <= 25; i++) await create({ name: `bulk-${String(i).padStart(2, '0')}`, expires_at: inDays(90), granular_scopes: readCode102 })
  const retired = await create({ name: 'Retired', expires_at: inDays(90), granular_scopes: readCode102 })
  t.equal((await api('DELETE', `/api/v4/personal_access_tokens/${retired.id}`)).status, 204)
  const soon = await create({ name: 'Short lived', expires_at: inDays(3), granular_scopes: readCode102 })
  const legacy = await create({ name: 'Old CI', expires_at: inDays(60), scopes: ['read_api'] })
  const fine = await create({
    name: 'Deploy API',
    description: 'Release pipeline of the API project',
    expires_at: inDays(30),
    granular_scopes: [
      { access: 'selected_memberships', project_ids: [102], permissions: ['read_code', 'create_merge_request'] },
      { access: 'selected_memberships', group_ids: [101], permissions: ['read_issue'] },
    ],
  })

  // Titles as the catalog gives them (the drawer must show titles, not names).
  const catalog = (await (await fetch(`${c.baseUrl}/api/v4/permissions`)).json()) as Array<{ name: string; title: string }>
  const title = (name: string) => catalog.find((p) => p.name === name)!.title

  t.test('the list: names of groups and projects, type, expiry, tabs, search, sort, pages', async (t) => {
    const page = await c.newPage()
    await signInAs(page, 'alice')
    await page.getByRole('heading', { name: 'Personal access tokens', level: 1 }).waitFor()
    const activeTab = page.getByRole('tab', { name: /Active/ })
    const inactiveTab = page.getByRole('tab', { name: /Inactive/ })
    await page.getByRole('tab', { name: 'Active (28)' }).waitFor()
    t.equal(await activeTab.getAttribute('aria-selected'), 'true')
    t.match(await inactiveTab.textContent(), /Inactive \(1\)/)

    const fineRow = page.getByTestId(`token-row-${fine.id}`)
    await fineRow.getByText('ACME Corp / Platform / API').waitFor()
    t.match(await fineRow.textContent(), /Fine-grained/)
    t.match(await fineRow.textContent(), /3 permissions on ACME Corp \/ Platform \/ API and 1 more/)
    t.match(await page.getByTestId(`token-row-${legacy.id}`).textContent(), /Legacy.*read_api/)
    const soonRow = page.getByTestId(`token-row-${soon.id}`)
    t.match(await soonRow.textContent(), /Expires in 3 days/)
    t.match(await soonRow.textContent(), /Expires soon/, 'soon-to-expire said in words, not only colour')
    t.match(await fineRow.textContent(), /Never used/)
    t.equal(await page.locator('tbody tr').count(), 20, 'a page of 20')
    t.match(await page.getByTestId('page-summary').textContent(), /1–20 of 28/)
    await expectAccessible(t, page, 'token list')
    await screenshot(page, 'tokens-list-desktop')

    await page.getByRole('button', { name: 'Next' }).click()
    await page.waitForURL(/[?&]page=2/)
    await page.getByText('21–28 of 28').waitFor()
    t.equal(await page.locator('tbody tr').count(), 8, 'the last 8 on page 2')
    t.ok(await page.getByRole('link', { name: 'bulk-01' }).isVisible(), 'the oldest token is on the last page')
    await page.getByRole('button', { name: 'Previous' }).click()
    await page.getByText('1–20 of 28').waitFor()

    // Tabs: click, and the keyboard (arrow keys move and select).
    await inactiveTab.click()
    await page.waitForURL(/state=inactive/)
    await page.getByTestId(`token-row-${retired.id}`).waitFor()
    t.match(await page.getByTestId(`token-row-${retired.id}`).textContent(), /Revoked/)
    t.equal(await page.locator('tbody tr').count(), 1, 'only the revoked one')
    await expectAccessible(t, page, 'token list, inactive tab')
    await inactiveTab.focus()
    await page.keyboard.press('ArrowLeft')
    await page.waitForURL((u) => !u.search.includes('state='))
    t.equal(await activeTab.getAttribute('aria-selected'), 'true', 'ArrowLeft selects Active')
    t.equal(await page.evaluate(() => document.activeElement?.textContent?.trim().startsWith('Active')), true, 'and focuses it')

    // Search (the API's search) and sort (the API's sort values).
    await page.getByLabel('Search by name').fill('bulk-07')
    await page.waitForURL(/search=bulk-07/)
    await page.getByText('1–1 of 1').waitFor()
    t.ok(await page.getByRole('link', { name: 'bulk-07' }).isVisible(), 'search finds by name')
    await page.getByLabel('Search by name').fill('bulk')
    await page.waitForURL(/search=bulk(&|$)/)
    await page.getByLabel('Sort by').selectOption('name_desc')
    await page.waitForURL(/sort=name_desc/)
    await page.getByText('1–20 of 25').waitFor()
    t.equal(await page.locator('tbody tr a').first().textContent(), 'bulk-25', 'Name (Z–A)')
    await page.getByLabel('Search by name').fill('no such token')
    await page.getByTestId('tokens-empty').waitFor()
    t.match(await page.getByTestId('tokens-empty').textContent(), /No active tokens match/)
    await page.getByRole('button', { name: 'Clear the search' }).click()
    await page.waitForURL((u) => !u.search.includes('search='))
    t.equal(await page.getByLabel('Search by name').inputValue(), '', 'the box follows the address')

    const phone = await c.newPage('phone')
    await signInAs(phone, 'alice')
    await phone.getByTestId(`token-row-${fine.id}`).getByText('ACME Corp / Platform / API').waitFor()
    t.ok(await noSideScroll(phone), 'phone: no horizontal page scroll')
    await expectAccessible(t, phone, 'token list (phone)')
    await screenshot(phone, 'tokens-list-phone')
  })

  t.test('a user without tokens sees the empty state with a way to generate one', async (t) => {
    const page = await c.newPage()
    await signInAs(page, 'bob')
    await page.getByTestId('tokens-empty').waitFor()
    t.match(await page.getByTestId('tokens-empty').textContent(), /no personal access tokens yet/)
    t.equal(await page.getByTestId('tokens-empty').getByRole('link', { name: 'Generate token' }).getAttribute('href'), '/console/tokens/new')
    await expectAccessible(t, page, 'token list, empty')
  })

  t.test('the drawer: permission titles by category, scope names, usage, linkable, Escape returns to the list', async (t) => {
    // Usage: the service asks what the token may do (two allowed, one denied).
    const headers = { authorization: `Bearer ${await c.jwt.service('backend', ['authorize'])}` }
    const ask = async (permission: string, id: number) => {
      const res = await c.app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { token: fine.token, permission, resource: { type: 'project', id }, ip: '203.0.113.7' } })
      t.equal(res.statusCode, 200)
      return (res.json() as { allowed: boolean }).allowed
    }
    t.equal(await ask('read_code', 102), true)
    t.equal(await ask('read_code', 102), true)
    t.equal(await ask('read_code', 103), false, 'not on Website')
    await c.app.usage.flush()

    const page = await c.newPage()
    await signInAs(page, 'alice', '/console/tokens?sort=expires_asc')
    await page.getByRole('link', { name: 'Deploy API' }).click()
    await page.waitForURL(new RegExp(`/console/tokens/${fine.id}\\?sort=expires_asc$`))
    const drawer = page.getByRole('dialog', { name: 'Deploy API' })
    await drawer.getByText(title('create_merge_request')).first().waitFor()
    t.equal(await page.evaluate(() => document.activeElement?.id), 'drawer-title', 'focus moves into the drawer')
    for (const name of ['read_code', 'create_merge_request', 'read_issue']) t.ok(await drawer.getByText(title(name), { exact: true }).count(), `shows "${title(name)}"`)
    t.ok(await drawer.getByRole('heading', { name: 'Repository', level: 4 }).isVisible(), 'grouped by category')
    t.ok(await drawer.getByRole('heading', { name: 'Merge requests', level: 4 }).isVisible())
    t.match(await drawer.getByTestId('drawer-scope').textContent(), /ACME Corp \/ Platform \/ API.*acme\/platform\/api/)
    t.match(await drawer.getByTestId('drawer-scope').textContent(), /ACME Corp \/ Platform.*acme\/platform\b/)
    t.match(await drawer.textContent(), /Release pipeline of the API project/)
    const usage = drawer.getByTestId('drawer-usage')
    const readRow = usage.getByRole('row', { name: new RegExp(title('read_code')) })
    t.same((await readRow.getByRole('cell').allTextContents()).slice(1, 3), ['2', '1'], 'allowed 2, denied 1')
    t.match(await drawer.getByTestId('drawer-ips').textContent(), /203\.0\.113\.7/, 'recent IPs')
    t.equal(await drawer.getByRole('link', { name: 'Duplicate', exact: true }).getAttribute('href'), `/console/tokens/new?duplicate=${fine.id}`)
    t.equal(await drawer.getByRole('link', { name: 'Duplicate as fine-grained' }).count(), 0, 'only for legacy tokens')
    await expectAccessible(t, page, 'token drawer')
    await drawerShots(page, drawer, 'token-drawer-desktop')

    await page.keyboard.press('Escape')
    await page.waitForURL(/\/console\/tokens\?sort=expires_asc$/)
    t.equal(await drawer.count(), 0, 'Escape closes the drawer, the filters are kept')
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-token-link')), String(fine.id), 'focus returns to the row')

    // A click elsewhere on the row opens it too; a linked drawer opens on arrival.
    await page.getByTestId(`token-row-${legacy.id}`).locator('td').nth(2).click()
    await page.waitForURL(new RegExp(`/console/tokens/${legacy.id}`))
    const legacyDrawer = page.getByRole('dialog', { name: 'Old CI' })
    await legacyDrawer.waitFor()
    t.equal(await legacyDrawer.getByRole('link', { name: 'Duplicate as fine-grained' }).getAttribute('href'), `/console/tokens/new?duplicate=${legacy.id}&fine_grained=1`)
    t.match(await legacyDrawer.textContent(), /read_api/)
    await legacyDrawer.getByRole('button', { name: 'Close details' }).click()
    await page.waitForURL(/\/console\/tokens\?sort=expires_asc$/)

    const phone = await c.newPage('phone')
    await signInAs(phone, 'alice', `/console/tokens/${fine.id}`)
    const phoneDrawer = phone.getByRole('dialog', { name: 'Deploy API' })
    await phoneDrawer.getByTestId('drawer-usage').waitFor()
    await phoneDrawer.getByTestId('category-project_planning').getByText(title('read_issue'), { exact: true }).waitFor()
    t.ok(await noSideScroll(phone), 'phone: no horizontal page scroll')
    t.ok(await phoneDrawer.evaluate((d) => d.scrollWidth <= d.clientWidth), 'phone: the drawer does not scroll sideways either')
    await expectAccessible(t, phone, 'token drawer (phone)')
    await drawerShots(phone, phoneDrawer, 'token-drawer-phone')

    await phone.goto('/console/tokens/999999')
    await phone.getByRole('dialog', { name: 'Token not found' }).waitFor()
    t.pass('an unknown token says so')
  })

  t.test('rotate through the modal: policy errors at the field, then a new secret that works, once; lineage links back', async (t) => {
    const page = await c.newPage()
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
    await signInAs(page, 'alice', `/console/tokens/${soon.id}`)
    const drawer = page.getByRole('dialog', { name: 'Short lived' })
    await drawer.waitFor()
    t.match(await drawer.textContent(), /Expires in 3 days.*Expires soon/)
    await drawer.getByRole('button', { name: 'Rotate' }).click()
    const modal = page.getByRole('dialog', { name: 'Rotate “Short lived”?' })
    await modal.waitFor()
    t.match(await modal.textContent(), /stops working immediately/)
    await expectAccessible(t, page, 'rotate modal')
    await page.screenshot({ path: join(ARTIFACTS, 'token-rotate-desktop.png') })

    // Beyond the maximum lifetime: the policy's message, at the date field.
    await modal.getByLabel('New expiry date (optional)').fill(inDays(3 * 365))
    await modal.getByRole('button', { name: 'Rotate token' }).click()
    await modal.getByRole('alert').waitFor()
    t.equal(await modal.getByLabel('New expiry date (optional)').getAttribute('aria-invalid'), 'true')
    t.match(await modal.locator('.field-error').textContent(), /lifetime|days/i)
    t.equal((await api('GET', `/api/v4/personal_access_tokens/${soon.id}`)).body!.state, 'active', 'nothing rotated')

    await modal.getByLabel('New expiry date (optional)').fill(inDays(20))
    await modal.getByRole('button', { name: 'Rotate token' }).click()
    const done = page.getByRole('dialog', { name: 'Token rotated' })
    await done.waitFor()
    t.match(await done.textContent(), /You will not see it again/)
    t.match(await done.textContent(), /Do not use the old secret again/)
    const secret = await done.getByTestId('secret-value').inputValue()
    t.match(secret, /^\S{20,}$/)
    await done.getByRole('button', { name: 'Copy' }).click()
    await done.getByText('Copied to the clipboard.').waitFor()
    t.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the copy button copies the secret')
    await expectAccessible(t, page, 'rotate modal, success')
    await page.screenshot({ path: join(ARTIFACTS, 'token-rotated-desktop.png') })

    const self = async (token: string) => (await fetch(`${c.baseUrl}/api/v4/personal_access_tokens/self`, { headers: { 'PRIVATE-TOKEN': token } })).status
    t.equal(await self(secret), 200, 'the new secret works')

    await done.getByRole('button', { name: 'Done' }).click()
    const successor = page.getByRole('dialog', { name: 'Short lived' })
    await page.waitForURL((u) => /\/console\/tokens\/\d+$/.test(u.pathname) && !u.pathname.endsWith(`/${soon.id}`))
    const newId = Number(new URL(page.url()).pathname.split('/').pop())
    t.equal((await api('GET', `/api/v4/personal_access_tokens/${newId}`)).body!.previous_personal_access_token_id, soon.id)
    await successor.getByTestId('drawer-lineage').waitFor()
    t.match(await successor.getByTestId('drawer-notice').textContent(), /old one .* no longer works/)
    t.equal(await page.getByText(secret).count() + (await page.locator(`input[value="${secret}"]`).count()), 0, 'the secret is gone once the modal closes')
    const rotatedFrom = successor.getByRole('link', { name: `Short lived (#${soon.id})` })
    await rotatedFrom.waitFor()
    t.match(await successor.getByTestId('drawer-lineage').textContent(), /Rotated from/)
    await rotatedFrom.click()
    await page.waitForURL(new RegExp(`/console/tokens/${soon.id}$`))
    await page.getByTestId('drawer-state').getByText('Revoked').waitFor()
    t.pass('the lineage link opens the old token, revoked')

    // The list moved the old token to Inactive.
    await page.keyboard.press('Escape')
    await page.getByRole('tab', { name: 'Inactive (2)' }).click()
    await page.getByTestId(`token-row-${soon.id}`).waitFor()
    t.pass('the rotated-away token is inactive in the list')

    // The old secret no longer works; presenting it is taken as a leak and (the default
    // revoke_family policy, as GitLab) revokes the new token too, which the modal warned about.
    t.equal(await self(soon.token!), 401, 'the old secret does not work')
    // Detection runs in the background, just after the 401.
    let state = ''
    for (let i = 0; i < 50 && state !== 'revoked'; i++) {
      state = (await api('GET', `/api/v4/personal_access_tokens/${newId}`)).body!.state
      if (state !== 'revoked') await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(state, 'revoked', 'reuse of the old secret revoked its successor')
    t.equal(await self(secret), 401)
  })

  t.test('revoke through the modal: named, confirmed, revoked in the API, moved to Inactive', async (t) => {
    const page = await c.newPage()
    await signInAs(page, 'alice', `/console/tokens/${legacy.id}`)
    const drawer = page.getByRole('dialog', { name: 'Old CI' })
    await drawer.waitFor()
    await drawer.getByRole('button', { name: 'Revoke' }).click()
    const modal = page.getByRole('dialog', { name: 'Revoke “Old CI”?' })
    await modal.waitFor()
    t.match(await modal.textContent(), /Old CI.*stops working immediately/)
    t.match(await modal.textContent(), /Legacy: read_api/, 'says what it could do')
    await expectAccessible(t, page, 'revoke modal')
    await page.screenshot({ path: join(ARTIFACTS, 'token-revoke-desktop.png') })
    await modal.getByRole('button', { name: 'Cancel' }).click()
    t.equal((await api('GET', `/api/v4/personal_access_tokens/${legacy.id}`)).body!.state, 'active', 'Cancel revokes nothing')

    await drawer.getByRole('button', { name: 'Revoke' }).click()
    await modal.getByRole('button', { name: 'Revoke token' }).click()
    await drawer.getByTestId('drawer-notice').waitFor()
    t.match(await drawer.getByTestId('drawer-state').textContent(), /Revoked/)
    t.equal(await drawer.getByRole('button', { name: 'Revoke' }).count(), 0, 'no more Revoke or Rotate')
    t.equal(await drawer.getByRole('button', { name: 'Rotate' }).count(), 0)
    const stored = (await api('GET', `/api/v4/personal_access_tokens/${legacy.id}`)).body!
    t.equal(stored.revoked, true, 'the API says revoked')
    t.equal(stored.state, 'revoked')
    t.equal((await fetch(`${c.baseUrl}/api/v4/personal_access_tokens/self`, { headers: { 'PRIVATE-TOKEN': legacy.token! } })).status, 401)
    await expectAccessible(t, page, 'token drawer, revoked')

    await drawer.getByRole('button', { name: 'Close details' }).click()
    await page.waitForURL(/\/console\/tokens$/)
    await page.getByRole('tab', { name: 'Active (26)' }).waitFor()
    t.equal(await page.getByTestId(`token-row-${legacy.id}`).count(), 0, 'gone from Active')
    await page.getByRole('tab', { name: 'Inactive (4)' }).click()
    await page.getByTestId(`token-row-${legacy.id}`).waitFor()
    t.pass('listed under Inactive')
  })
})
