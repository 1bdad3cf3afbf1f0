// Editing a token in place (/console/tokens/new?edit=<id>): the form starts from the token as it is,
// saves through PATCH, and the secret keeps working with the new scopes. Legacy and inactive tokens
// are refused with a reason.
import t from 'tap'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)

t.test('console: edit a token', async (t) => {
  const c = await startConsole(t)
  const asAlice = async (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${c.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${await c.jwt.user(2)}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })
    return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> }
  }
  const created = await asAlice('/api/v4/user/personal_access_tokens', {
    method: 'POST',
    body: { name: 'ci reader', expires_at: inDays(20), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] },
  })
  t.equal(created.status, 201)
  const { id, token: secret } = created.json as { id: number; token: string }

  t.test('the form starts from the token; saving changes name, expiry and permissions, the secret stays', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', `/console/tokens/${id}`)
    await page.getByRole('link', { name: 'Edit', exact: true }).click()
    await page.getByRole('heading', { name: 'Edit “ci reader”' }).waitFor()
    t.match(page.url(), new RegExp(`/console/tokens/new\\?edit=${id}$`), 'the drawer\'s Edit opens the form in edit mode')
    t.equal(await page.getByLabel('Token name').inputValue(), 'ci reader')
    t.equal(await page.getByLabel('Expiration date').inputValue(), inDays(20), 'the token\'s own expiry, not the policy default')
    const scope = page.getByTestId('scope-0')
    t.ok(await scope.getByRole('checkbox', { name: /read_code/ }).isChecked(), 'its permissions are ticked')
    await expectAccessible(t, page, 'edit form')
    await page.getByLabel('Token name').fill('ci reader and MRs')
    await page.getByLabel('Expiration date').fill(inDays(40))
    await scope.getByLabel('Search permissions').fill('read_merge_request')
    await scope.getByRole('checkbox', { name: /\bread_merge_request$/ }).check()
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('heading', { name: 'Token “ci reader and MRs” saved' }).waitFor()
    await page.getByTestId('edit-saved').waitFor()
    t.equal(await page.getByLabel('Your new personal access token').count(), 0, 'no secret is shown: it did not change')
    await screenshot(page, 'edit-saved-desktop')

    const after = (await asAlice(`/api/v4/personal_access_tokens/${id}`)).json as { name: string; expires_at: string; granular_scopes: Array<{ permissions: string[]; project_id: number }> }
    t.equal(after.name, 'ci reader and MRs')
    t.equal(after.expires_at, inDays(40))
    t.same(after.granular_scopes.flatMap((s) => s.permissions).sort(), ['read_code', 'read_merge_request'])
    t.ok(after.granular_scopes.every((s) => s.project_id === 102), 'still only on project API')
    const self = await fetch(`${c.baseUrl}/api/v4/personal_access_tokens/self`, { headers: { 'private-token': secret } })
    t.equal(self.status, 200, 'the same secret still works')
  })

  t.test('a legacy token or a revoked one cannot be edited: the page says why', async (t) => {
    const legacy = await asAlice('/api/v4/user/personal_access_tokens', { method: 'POST', body: { name: 'old', expires_at: inDays(20), scopes: ['read_api'] } })
    const page = await c.newPage('phone')
    await signInAs(page, 'alice', `/console/tokens/new?edit=${(legacy.json as { id: number }).id}`)
    await page.getByRole('alert').filter({ hasText: /legacy token: its scopes cannot be edited/ }).waitFor()
    t.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 0)
    const revoked = await asAlice('/api/v4/user/personal_access_tokens', { method: 'POST', body: { name: 'gone', expires_at: inDays(20), granular_scopes: [{ access: 'user', permissions: ['read_user'] }] } })
    const gone = (revoked.json as { id: number }).id
    t.equal((await asAlice(`/api/v4/personal_access_tokens/${gone}`, { method: 'DELETE' })).status, 204)
    await page.goto(`/console/tokens/new?edit=${gone}`)
    await page.getByRole('alert').filter({ hasText: /no longer active/ }).waitFor()
  })
})
