// The generate form (/console/tokens/new) in a real browser against the real service: a
// least-privilege token built through the pickers with a live preview, the secret shown once, API
// refusals next to their fields, templates, duplicate with changes, and a legacy token converted to
// fine-grained. Every flow is checked in the page and in the API's state.
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { ARTIFACTS, expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

const API_PROJECT = 102
const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)

interface TokenJson {
  id: number
  name: string
  kind: string
  token?: string
  description: string | null
  expires_at: string | null
  duplicated_from_id: number | null
  granular_scopes: { access: string; permissions: string[]; project_id: number | null; group_id: number | null }[]
}

const noHorizontalScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)

t.test('console: generate and duplicate tokens', async (t) => {
  const c = await startConsole(t)
  const asAlice = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${c.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${await c.jwt.user(2)}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })
    return { status: res.status, json: (await res.json().catch(() => null)) as unknown }
  }
  const aliceTokens = async () => (await asAlice('/api/v4/personal_access_tokens?per_page=100')).json as TokenJson[]
  const createAsAlice = async (body: Record<string, unknown>) => {
    const res = await asAlice('/api/v4/user/personal_access_tokens', { method: 'POST', body: { expires_at: inDays(30), ...body } })
    t.equal(res.status, 201, JSON.stringify(res.json))
    return res.json as TokenJson
  }

  t.test('a least-privilege token: search "clone", pick project API, preview, the secret shown once', async (t) => {
    const page = await c.newPage('desktop')
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: c.baseUrl })
    await signInAs(page, 'alice', '/console/tokens/new')
    await page.getByRole('heading', { name: 'Generate a fine-grained token' }).waitFor()
    // The default expiry the policy gives is pre-filled, the maximum shown.
    await page.getByTestId('expiry-rules').filter({ hasText: 'Latest allowed' }).waitFor()
    t.equal(await page.getByLabel('Expiration date').inputValue(), inDays(365), 'the default expiry is pre-filled')
    t.match(await page.getByTestId('expiry-rules').textContent(), /365 days, set by the instance settings/)
    t.equal(await page.getByLabel('Never expires').count(), 0, '"never" is not offered where an expiry is required')

    await page.getByLabel('Token name').fill('api clone')
    const scope = page.getByTestId('scope-0')
    await scope.getByLabel('Search your groups and projects').fill('API')
    await scope.getByRole('checkbox', { name: /ACME Corp \/ Platform \/ API/ }).check()
    t.match(await scope.getByRole('list', { name: /Selected/ }).textContent(), /ACME Corp \/ Platform \/ API/, 'the picked project by its full name')

    await scope.getByLabel('Search permissions').fill('clone')
    await scope.getByText(/permissions? match “clone”/).waitFor()
    const results = scope.getByRole('list', { name: 'Permissions matching clone' }).getByRole('checkbox')
    t.match(await results.first().getAttribute('id'), /-p-read_code$/, 'the synonym "clone" finds read_code first')
    await scope.getByRole('checkbox', { name: /read_code/ }).check()
    // A permission that cannot apply to groups and projects is disabled, with why.
    await scope.getByLabel('Search permissions').fill('read_user')
    await scope.getByText(/match “read_user”/).waitFor()
    const readUser = scope.getByRole('checkbox', { name: /\bread_user$/ })
    t.equal(await readUser.isDisabled(), true, 'read_user cannot apply to selected groups and projects')
    t.match(await page.locator(`#${await readUser.getAttribute('aria-describedby')}`).textContent(), /Applies to your user account, not to selected groups and projects/)
    await scope.getByLabel('Search permissions').fill('')

    const summary = page.getByTestId('preview-summary')
    await summary.filter({ hasText: '1 permission on 1 project.' }).waitFor()
    t.match(await page.getByTestId('preview-reach').textContent(), /acme\/platform\/api/, 'the preview shows the reach')
    await expectAccessible(t, page, 'generate form')
    await screenshot(page, 'generate-form-desktop')
    await page.getByTestId('preview').screenshot({ path: join(ARTIFACTS, 'generate-preview-desktop.png') })

    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByRole('heading', { name: 'Token “api clone” created' }).waitFor()
    const secret = await page.getByLabel('Your new personal access token').inputValue()
    t.match(secret, /^fgpat-/)
    t.equal(await page.getByLabel('Your new personal access token').getAttribute('readonly'), '', 'read-only')
    await page.getByText('Copy this token now. You will not see it again.').waitFor()
    await page.getByRole('button', { name: 'Copy' }).click()
    await page.getByTestId('copy-status').filter({ hasText: 'Copied' }).waitFor()
    t.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the secret is on the clipboard')
    await expectAccessible(t, page, 'new token secret')
    await screenshot(page, 'generate-success-desktop')

    // The API holds exactly what the form showed, and the secret works.
    const token = (await aliceTokens()).find((x) => x.name === 'api clone')!
    t.ok(token, 'the token exists')
    t.same(token.granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code'], project_id: API_PROJECT, group_id: null }])
    t.equal(token.expires_at, inDays(365))
    const self = await fetch(`${c.baseUrl}/api/v4/personal_access_tokens/self`, { headers: { 'private-token': secret } })
    t.equal(self.status, 200, 'the shown secret authenticates')
    t.equal(((await self.json()) as TokenJson).id, token.id)
    t.equal(await page.getByRole('link', { name: 'View token' }).getAttribute('href'), `/console/tokens/${token.id}`)
    t.equal(await page.getByRole('link', { name: 'Back to your tokens' }).getAttribute('href'), '/console/tokens')

    // Shown once: coming back to the page shows a fresh form, not the secret.
    await page.reload()
    await page.getByRole('heading', { name: 'Generate a fine-grained token' }).waitFor()
    t.equal(await page.getByLabel('Your new personal access token').count(), 0)
    t.notOk((await page.content()).includes(secret), 'the secret is nowhere in the page')
  })

  t.test('refusals are shown next to their fields; the expiry rules follow the groups reached', async (t) => {
    const admin = await fetch(`${c.baseUrl}/api/v4/groups/100/personal_access_token_policy`, {
      method: 'PUT', headers: { authorization: `Bearer ${await c.jwt.user(1)}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_lifetime_days: 30 }),
    })
    t.equal(admin.status, 200, 'acme allows 30 days at most')
    t.teardown(async () => {
      await fetch(`${c.baseUrl}/api/v4/groups/100/personal_access_token_policy`, {
        method: 'PUT', headers: { authorization: `Bearer ${await c.jwt.user(1)}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_lifetime_days: null }),
      })
    })
    const before = (await aliceTokens()).length
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', '/console/tokens/new')
    const scope = page.getByTestId('scope-0')
    await scope.getByLabel('Search your groups and projects').fill('API')
    await scope.getByRole('checkbox', { name: /ACME Corp \/ Platform \/ API/ }).check()
    await scope.getByLabel('Search permissions').fill('clone')
    await scope.getByRole('checkbox', { name: /read_code/ }).check()
    await page.getByTestId('expiry-rules').filter({ hasText: /30 days, set by the group acme/ }).waitFor()
    t.equal(await page.getByLabel('Expiration date').inputValue(), inDays(30), 'the pre-filled default follows the stricter group maximum')

    // Beyond the maximum: the live preview says so at the field.
    await page.getByLabel('Expiration date').fill(inDays(60))
    const expiryError = page.getByTestId('expires-error')
    await expiryError.waitFor()
    t.match(await expiryError.textContent(), new RegExp(`must be on or before ${inDays(30)}.*set by the group acme`))
    t.equal(await page.getByLabel('Expiration date').getAttribute('aria-invalid'), 'true')
    t.match(await page.getByLabel('Expiration date').getAttribute('aria-describedby'), /expires-error/)

    // An empty name: the API refuses it, shown at the name field, which gets focus.
    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByTestId('submit-error').waitFor()
    const nameError = page.getByTestId('name-error')
    await nameError.waitFor()
    t.equal(await nameError.textContent(), 'Enter a name for the token.')
    t.equal(await page.getByLabel('Token name').getAttribute('aria-invalid'), 'true')
    t.match(await page.getByLabel('Token name').getAttribute('aria-describedby'), /name-error/)
    t.equal(await page.evaluate(() => document.activeElement?.id), 'name', 'focus moves to the refused field')
    await expectAccessible(t, page, 'generate form with errors')
    await screenshot(page, 'generate-errors-desktop')

    // With a name, the API's own refusal of the expiry is shown at the expiry field.
    await page.getByLabel('Token name').fill('too long')
    t.equal(await nameError.count(), 0, 'typing clears the name error')
    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByTestId('submit-error').waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'expires')
    t.match(await expiryError.textContent(), /on or before/)
    t.equal((await aliceTokens()).length, before, 'nothing was created')

    // Fixed: the token is created.
    await page.getByLabel('Expiration date').fill(inDays(20))
    await page.getByTestId('preview-summary').filter({ hasText: '1 permission on 1 project.' }).waitFor()
    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByRole('heading', { name: 'Token “too long” created' }).waitFor()
    t.equal((await aliceTokens()).find((x) => x.name === 'too long')?.expires_at, inDays(20))
  })

  t.test('a template fills the permissions and the expiry', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', '/console/tokens/new')
    await page.getByLabel('Start from a template').selectOption({ label: 'Read-only repository access (Built-in)' })
    await page.getByRole('button', { name: 'Apply template' }).click()
    await page.getByTestId('template-status').filter({ hasText: 'Applied “Read-only repository access”: 4 permissions. Pick the groups or projects it applies to.' }).waitFor()
    const chosen = await page.getByTestId('scope-0').getByRole('list', { name: /Chosen permissions/ }).textContent()
    for (const p of ['read_code', 'download_code_archive', 'read_merge_request', 'read_release']) t.match(chosen, p)
    t.match(await page.getByTestId('scope-0-targets-error').textContent(), /Pick at least one group or project/, 'the template needs its targets')
    await page.getByTestId('scope-0').getByLabel('Search your groups and projects').fill('website')
    await page.getByRole('checkbox', { name: /ACME Corp \/ Website/ }).check()
    await page.getByTestId('preview-summary').filter({ hasText: '4 permissions on 1 project.' }).waitFor()
    t.equal(await page.getByLabel('Expiration date').inputValue(), inDays(90), "the template's default lifetime")
    await page.getByLabel('Token name').fill('mirror')
    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByRole('heading', { name: 'Token “mirror” created' }).waitFor()
    const token = (await aliceTokens()).find((x) => x.name === 'mirror')!
    t.same(token.granular_scopes, [{ access: 'selected_memberships', permissions: ['download_code_archive', 'read_code', 'read_merge_request', 'read_release'], project_id: 103, group_id: null }])
  })

  t.test('duplicate with changes: renamed, one permission more, lineage recorded', async (t) => {
    const original = await createAsAlice({
      name: 'ci reader', description: 'nightly', granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }],
    })
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', `/console/tokens/new?duplicate=${original.id}`)
    await page.getByRole('heading', { name: 'Duplicate “ci reader”' }).waitFor()
    t.equal(await page.getByLabel('Token name').inputValue(), 'ci reader (copy)')
    t.equal(await page.getByLabel('Description').inputValue(), 'nightly')
    const scope = page.getByTestId('scope-0')
    t.match(await scope.getByRole('list', { name: /Chosen permissions/ }).textContent(), /read_code/)
    await scope.getByRole('list', { name: /Selected/ }).filter({ hasText: 'ACME Corp / Platform / API' }).waitFor()
    await page.getByTestId('preview-summary').filter({ hasText: '1 permission on 1 project.' }).waitFor()

    await page.getByLabel('Token name').fill('ci reader v2')
    await scope.getByLabel('Search permissions').fill('merge request')
    await scope.getByRole('checkbox', { name: /read_merge_request/ }).check()
    await page.getByTestId('preview-summary').filter({ hasText: '2 permissions on 1 project.' }).waitFor()
    await page.getByRole('button', { name: 'Create duplicate' }).click()
    await page.getByRole('heading', { name: 'Token “ci reader v2” created' }).waitFor()
    const copy = (await aliceTokens()).find((x) => x.name === 'ci reader v2')!
    t.equal(copy.duplicated_from_id, original.id, 'lineage: duplicated_from_id')
    t.equal(copy.description, 'nightly')
    t.same(copy.granular_scopes, [{ access: 'selected_memberships', permissions: ['read_code', 'read_merge_request'], project_id: API_PROJECT, group_id: null }])
    t.equal((await aliceTokens()).find((x) => x.id === original.id)?.name, 'ci reader', 'the original is unchanged')
  })

  t.test('a legacy token duplicated as fine-grained: the conversion explained and pre-filled', async (t) => {
    const legacy = await createAsAlice({ name: 'old script', scopes: ['read_repository'] })
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', `/console/tokens/new?duplicate=${legacy.id}`)
    await page.getByRole('heading', { name: 'Duplicate “old script”' }).waitFor()
    await page.getByRole('link', { name: 'Convert to a fine-grained token instead' }).click()
    await page.getByRole('heading', { name: 'Convert “old script” to a fine-grained token' }).waitFor()
    t.match(await page.getByTestId('conversion-note').textContent(), /legacy token.*read_repository.*keeps working until you revoke it/s)
    t.equal(await page.getByTestId('scope-0').getByRole('radio', { name: /All your groups and projects/ }).isChecked(), true)
    t.match(await page.getByTestId('scope-0').getByRole('list', { name: /Chosen permissions/ }).textContent(), /read_code.*|download_code_archive/)
    t.equal(await page.getByTestId('scope-1').getByRole('radio', { name: /Your personal projects/ }).isChecked(), true)
    await page.getByTestId('preview-summary').filter({ hasText: /2 permissions on .*projects?/ }).waitFor()
    await screenshot(page, 'generate-convert-desktop')

    // Narrow it: drop the personal projects scope.
    await page.getByTestId('scope-1').getByRole('button', { name: 'Remove scope 2' }).click()
    await page.getByRole('button', { name: 'Create fine-grained token' }).click()
    await page.getByRole('heading', { name: 'Token “old script (copy)” created' }).waitFor()
    const fine = (await aliceTokens()).find((x) => x.name === 'old script (copy)')!
    t.equal(fine.kind, 'fine_grained')
    t.equal(fine.duplicated_from_id, legacy.id)
    t.same(fine.granular_scopes, [{ access: 'all_memberships', permissions: ['download_code_archive', 'read_code'], project_id: null, group_id: null }])
  })

  t.test('phone: the form, the preview and the secret fit the width', async (t) => {
    const page = await c.newPage('phone')
    await signInAs(page, 'alice', '/console/tokens/new')
    await page.getByRole('heading', { name: 'Generate a fine-grained token' }).waitFor()
    await page.getByLabel('Token name').fill('phone token')
    const scope = page.getByTestId('scope-0')
    await scope.getByLabel('Search your groups and projects').fill('API')
    await scope.getByRole('checkbox', { name: /ACME Corp \/ Platform \/ API/ }).check()
    await scope.getByLabel('Search permissions').fill('clone')
    await scope.getByRole('checkbox', { name: /read_code/ }).check()
    await page.getByTestId('preview-summary').filter({ hasText: '1 permission on 1 project.' }).waitFor()
    t.ok(await noHorizontalScroll(page), 'form: no horizontal page scroll')
    await expectAccessible(t, page, 'generate form (phone)')
    await screenshot(page, 'generate-form-phone')
    await page.getByTestId('preview').scrollIntoViewIfNeeded()
    await page.getByTestId('preview').screenshot({ path: join(ARTIFACTS, 'generate-preview-phone.png') })
    await page.getByRole('button', { name: 'Generate token' }).click()
    await page.getByRole('heading', { name: 'Token “phone token” created' }).waitFor()
    t.ok(await noHorizontalScroll(page), 'success: no horizontal page scroll')
    await expectAccessible(t, page, 'new token secret (phone)')
    await screenshot(page, 'generate-success-phone')
  })
})
