// Legacy → fine-grained conversion in the token drawer, against the real service: opening "Convert
// to fine-grained" previews the usage recommendation — summary, confidence, the proposed scopes by
// name, what would not be covered, the grace end — exactly as the API answers it, and creates
// nothing until Convert is pressed; then the new secret is shown once, after which the drawer shows
// the grace and links to the successor. A legacy token with too little use gets the reason in words
// and a link to choose the scopes with "Duplicate as fine-grained" instead of a Convert button.
import t from 'tap'
import { inDays } from '../helpers/fixtures.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

interface Rec {
  summary: string
  confidence: string
  recommended_granular_scopes: { permissions: string[]; project_ids?: number[]; group_ids?: number[] }[] | null
  preview: { projects: { id: number; full_path: string }[]; groups: { id: number; full_path: string }[] } | null
  denied: { permission: string }[]
  conversion: { grace_days: number; grace_ends_at: string } | null
}

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
  // Its use, through /authorize: read_code on project 102 (allowed), delete_project there (alice is
  // a maintainer: denied); and yesterday's runs of the same job, a second day of evidence.
  const backend = { authorization: `Bearer ${await c.jwt.service('backend', ['authorize'])}` }
  const ask = async (permission: string) => {
    const res = await c.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: backend, payload: { token: used.token, permission, resource: { type: 'project', id: 102 } } })
    return (res.json() as { allowed: boolean }).allowed
  }
  for (let i = 0; i < 8; i++) t.equal(await ask('read_code'), true)
  t.equal(await ask('delete_project'), false)
  await c.app.usage.flush()
  await c.app.db.insertInto('token_usage_daily').values({ token_id: used.id, day: inDays(-1), permission: 'read_code', namespace_id: 102, allowed: 8, denied: 0 }).execute()
  const tokenCount = async () => Number((await c.app.inject({ url: '/api/v4/personal_access_tokens?per_page=1', headers: alice })).headers['x-total'])
  const before = await tokenCount()

  const page = await c.newPage()
  await signInAs(page, 'alice', `/console/tokens/${used.id}`)
  const drawer = page.getByRole('dialog', { name: 'Nightly build' })
  await drawer.getByTestId('convert-open').click()
  const modal = page.getByRole('dialog', { name: 'Convert “Nightly build” to fine-grained?' })
  await modal.getByTestId('convert-summary').waitFor()

  // The preview is the API's recommendation, shown before anything exists.
  const rec = (await c.app.inject({ url: `/api/v4/personal_access_tokens/${used.id}/recommendation`, headers: alice })).json() as Rec
  t.equal(await modal.getByTestId('convert-summary').textContent(), rec.summary)
  t.match(await modal.getByTestId('convert-confidence').textContent(), new RegExp(`^${rec.confidence}`, 'i'))
  t.ok(rec.recommended_granular_scopes?.length, 'the API proposes scopes')
  const reached = [...(rec.preview?.projects ?? []), ...(rec.preview?.groups ?? [])]
  // The list is drawn at once and each namespace's name fetched after it ("Project 102" until then):
  // read it when the names are there, or fail at the wait's timeout when one never comes.
  const proposedList = modal.getByTestId('convert-proposed')
  const named = (rec.recommended_granular_scopes ?? []).flatMap((s) => [...(s.project_ids ?? []), ...(s.group_ids ?? [])])
  for (const id of named) await proposedList.getByText(reached.find((n) => n.id === id)!.full_path, { exact: true }).first().waitFor()
  const proposed = (await proposedList.textContent()) ?? ''
  for (const s of rec.recommended_granular_scopes ?? []) {
    for (const p of s.permissions) t.match(proposed, p, `proposes ${p}`)
    for (const id of [...(s.project_ids ?? []), ...(s.group_ids ?? [])]) {
      t.match(proposed, reached.find((n) => n.id === id)!.full_path, `names namespace ${id} by its path`)
    }
  }
  t.match(proposed, 'ACME Corp', 'and by its full name')
  t.ok(rec.denied.length, 'the API saw a denial')
  const uncovered = (await modal.getByTestId('convert-uncovered').textContent()) ?? ''
  for (const d of rec.denied) t.match(uncovered, d.permission, `${d.permission} is listed as not covered`)
  t.equal(rec.conversion?.grace_days, 14)
  const shownAt = (await page.evaluate((iso) => [0, 60_000].map((ms) => new Date(Date.parse(iso) + ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })), rec.conversion!.grace_ends_at))
  const grace = (await modal.getByTestId('convert-grace').textContent()) ?? ''
  t.ok(shownAt.some((d) => grace.includes(d)), `the grace end the API names (${shownAt[0]}) is shown: ${grace}`)
  t.equal(await tokenCount(), before, 'nothing created by opening the preview')
  t.equal(((await c.app.inject({ url: `/api/v4/personal_access_tokens/${used.id}`, headers: alice })).json() as { converted_to: number | null }).converted_to, null, 'not converted yet')
  await expectAccessible(t, page, 'convert preview')
  await screenshot(page, 'convert-preview')
  await modal.getByTestId('convert-submit').click()
  const done = page.getByRole('dialog', { name: 'Converted to fine-grained' })
  const secret = await done.getByTestId('secret-value').inputValue()
  t.match(secret, /^fgpat-/, 'the new secret, shown once')
  t.match(await done.textContent(), /created with 1 permission/)
  t.match(await done.getByTestId('convert-scopes').textContent(), /ACME Corp.*API.*read_code/)
  t.equal(await tokenCount(), before + 1, 'the successor was created by the click')
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
  await idleModal.getByTestId('convert-choose').waitFor()
  const idleRec = (await c.app.inject({ url: `/api/v4/personal_access_tokens/${idle.id}/recommendation`, headers: alice })).json() as Rec & { reason: string }
  t.equal(idleRec.recommended_granular_scopes, null)
  t.match(await idleModal.getByTestId('convert-too-little').textContent(), `Too little evidence to propose scopes: there is not enough recorded use of this token to tell what it needs. ${idleRec.reason}`)
  t.equal(await idleModal.getByTestId('convert-submit').count(), 0, 'no Convert button from too little evidence')
  t.equal(await idleModal.getByRole('link', { name: /Duplicate as fine-grained/ }).getAttribute('href'), `/console/tokens/new?duplicate=${idle.id}&fine_grained=1`)
  await expectAccessible(t, page, 'convert modal, insufficient evidence')
  t.equal(await tokenCount(), before + 1, 'nothing created for the idle token')
})
