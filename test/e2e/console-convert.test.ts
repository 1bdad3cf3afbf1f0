// Legacy → fine-grained conversion in the token drawer, against the real service: a legacy token
// with recorded use converts in the modal (the new secret shown once, its permissions listed, the
// grace end), after which the drawer shows the grace and links to the successor; a legacy token with
// too little use gets the reason and a link to choose the scopes with "Duplicate as fine-grained".
import { sql } from 'kysely'
import t from 'tap'
import { inDays } from '../helpers/fixtures.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

t.test('convert a legacy token from the drawer', async (t) => {
  const c = await startConsole(t)
  const alice = { authorization: `Bearer ${await c.jwt.user(2)}` }
  const create = async (name: string) => {
    const res = await c.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: alice, payload: { name, expires_at: inDays(60), scopes: ['api'] } })
    if (res.statusCode !== 201) throw new Error(`creating ${name}: ${res.statusCode} ${res.body}`)
    return res.json() as { id: number; token: string }
  }
  const used = await create('Nightly build')
  const idle = await create('Forgotten script')
  // Its recorded use (the integration tests drive it through /authorize): read_code on project 102, two days.
  await sql`insert into token_usage_daily (token_id, day, permission, namespace_id, allowed, denied) values
    (${used.id}, ${inDays(-1)}, 'read_code', 102, 8, 0), (${used.id}, ${inDays(-2)}, 'read_code', 102, 8, 0)`.execute(c.app.db)

  const page = await c.newPage()
  await signInAs(page, 'alice', `/console/tokens/${used.id}`)
  const drawer = page.getByRole('dialog', { name: 'Nightly build' })
  await drawer.getByTestId('convert-open').click()
  const modal = page.getByRole('dialog', { name: 'Convert “Nightly build” to fine-grained?' })
  await modal.getByText('seen using over the last 30 days').waitFor()
  await expectAccessible(t, page, 'convert modal')
  await modal.getByTestId('convert-submit').click()
  const done = page.getByRole('dialog', { name: 'Converted to fine-grained' })
  const secret = await done.getByTestId('secret-value').inputValue()
  t.match(secret, /^fgpat-/, 'the new secret, shown once')
  t.match(await done.textContent(), /created with 1 permission/)
  t.match(await done.getByTestId('convert-scopes').textContent(), /read_code.*project #102/)
  t.match(await done.textContent(), /keeps working until/)
  await expectAccessible(t, page, 'convert modal, done')
  await screenshot(page, 'convert-done')
  await done.getByRole('button', { name: 'Done' }).click()

  const section = drawer.getByTestId('drawer-conversion')
  await section.getByTestId('conversion-successor').waitFor()
  t.match(await section.textContent(), /Converted to token #\d+\..*keeps working until .* then it is revoked automatically/)
  t.equal(await drawer.getByTestId('convert-open').count(), 0, 'no second conversion')
  const shown = (await c.app.inject({ url: `/api/v4/personal_access_tokens/${used.id}`, headers: alice })).json() as { converted_to: number }
  t.equal(await section.getByTestId('conversion-successor').textContent(), `token #${shown.converted_to}`)
  const check = await c.app.inject({ url: '/api/v4/personal_access_tokens/self', headers: { 'private-token': secret } })
  t.equal(check.json().converted_from, used.id, 'the secret shown is the successor\'s')

  await section.getByTestId('conversion-successor').click()
  const successorDrawer = page.getByRole('dialog', { name: 'Nightly build' })
  await successorDrawer.getByText(`Replaces the legacy token #${used.id}`).waitFor()

  // Too little evidence: the reason, and the way to choose the scopes.
  await page.goto(`/console/tokens/${idle.id}`)
  const idleDrawer = page.getByRole('dialog', { name: 'Forgotten script' })
  await idleDrawer.getByTestId('convert-open').click()
  const idleModal = page.getByRole('dialog', { name: 'Convert “Forgotten script” to fine-grained?' })
  await idleModal.getByTestId('convert-submit').click()
  await idleModal.getByTestId('convert-choose').waitFor()
  t.match(await idleModal.textContent(), /Too little evidence/)
  t.equal(await idleModal.getByRole('link', { name: /Duplicate as fine-grained/ }).getAttribute('href'), `/console/tokens/new?duplicate=${idle.id}&fine_grained=1`)
  await expectAccessible(t, page, 'convert modal, insufficient evidence')
})
