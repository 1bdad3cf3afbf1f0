// The console's frame: served with a strict CSP, signs in and out (development picker and a pasted
// personal access token), keeps the credential for the tab only, and is accessible at both widths.
import t from 'tap'
import { CONSOLE_CSP } from '../../src/modules/console/routes.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

t.test('console shell', async (t) => {
  const c = await startConsole(t)

  t.test('served with a strict Content-Security-Policy; unknown assets are 404, client routes are the app', async (t) => {
    const index = await fetch(`${c.baseUrl}/console/tokens`)
    t.equal(index.status, 200)
    t.equal(index.headers.get('content-security-policy'), CONSOLE_CSP)
    t.match(index.headers.get('content-type'), /^text\/html/)
    t.equal(index.headers.get('x-frame-options'), 'DENY')
    t.notMatch(CONSOLE_CSP, /unsafe/, 'no unsafe-inline or unsafe-eval')
    t.notMatch(await index.text(), /<script>(?!<\/script>)|<style>|style="/, 'no inline script or style in the page')
    const missing = await fetch(`${c.baseUrl}/console/assets/nope.js`)
    t.equal(missing.status, 404)
    const redirect = await fetch(`${c.baseUrl}/console`, { redirect: 'manual' })
    t.equal(redirect.status, 302)
    t.equal(redirect.headers.get('location'), '/console/')
  })

  t.test('an unauthenticated visit goes to sign-in; the picker signs in; sign-out forgets the credential', async (t) => {
    const page = await c.newPage()
    await page.goto('/console/tokens')
    await page.waitForURL(/\/console\/sign-in/)
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor()
    await expectAccessible(t, page, 'sign-in page')
    await screenshot(page, 'sign-in-desktop')
    await page.getByTestId('sign-in-as-alice').click()
    await page.waitForURL(/\/console\/tokens/)
    t.match(await page.getByTestId('signed-in-as').textContent(), /Alice Developer/)
    t.ok(await page.evaluate(() => sessionStorage.getItem('fgpat.console.credential')), 'kept in sessionStorage')
    t.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/console\/sign-in/)
    t.equal(await page.evaluate(() => sessionStorage.getItem('fgpat.console.credential')), null, 'forgotten on sign-out')
    await page.goto('/console/tokens')
    await page.waitForURL(/\/console\/sign-in/)
  })

  t.test('a pasted personal access token signs in; a bad one is refused with a reason', async (t) => {
    const jwt = await c.jwt.user(2)
    const created = await fetch(`${c.baseUrl}/api/v4/user/personal_access_tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console', granular_scopes: [{ access: 'user', permissions: ['read_user', 'read_personal_access_token'] }] }),
    })
    t.equal(created.status, 201)
    const { token } = (await created.json()) as { token: string }
    const page = await c.newPage()
    await page.goto('/console/sign-in')
    await page.getByLabel('Personal access token or JWT').fill('fgpat-not-a-real-token')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('alert').or(page.getByRole('status')).first().waitFor()
    t.match(await page.locator('.alert').first().textContent(), /cannot sign in|expired|Sign in again/)
    await page.getByLabel('Personal access token or JWT').fill(token)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL(/\/console\/tokens/)
    t.match(await page.getByTestId('signed-in-as').textContent(), /Alice Developer/)
  })

  t.test('a JWT handed in through the URL fragment signs in and leaves the address bar', async (t) => {
    const page = await c.newPage('phone')
    await page.goto(`/console/tokens#access_token=${await c.jwt.user(1)}`)
    await page.getByTestId('signed-in-as').waitFor()
    t.match(await page.getByTestId('signed-in-as').textContent(), /Instance Admin/)
    t.notMatch(page.url(), /access_token/)
    await expectAccessible(t, page, 'signed-in frame (phone)')
    await screenshot(page, 'frame-phone')
  })

  t.test('sign in as a demo user from the helper', async (t) => {
    const page = await c.newPage()
    await signInAs(page, 'bob')
    t.match(await page.getByTestId('signed-in-as').textContent(), /Bob/)
  })
})
