// The legacy report on the inventory page ("Legacy tokens"), against the real service: legacy
// tokens of alice and bob, some exercised through POST /authorize, one being converted. An
// administrator sees the instance's report and a group owner their group's, with the counts, the
// rows (owner, scopes, conversion, proposal or why there is none) and a what-if cut-off kept in the
// address, every number as the API answers it. Scanned with axe; no horizontal scroll on a phone.
import t from 'tap'
import type { Page } from 'playwright-core'
import { inDays } from '../helpers/fixtures.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'

interface Report {
  summary: { total: number; used_last_30_days: number; with_proposal: number; being_converted: number; enforcement_date: string | null; cutoff: string | null; would_stop_working: number | null }
  tokens: { id: number; proposal: { summary: string; recommended_granular_scopes: unknown[] | null; reason: string | null } }[]
}

t.test('console: the legacy token report', async (t) => {
  const c = await startConsole(t)
  const as = async (userId: number) => ({ authorization: `Bearer ${await c.jwt.user(userId)}` })
  const create = async (userId: number, name: string, scopes: string[], days: number) => {
    const res = await c.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await as(userId), payload: { name, expires_at: inDays(days), scopes } })
    if (res.statusCode !== 201) throw new Error(`creating ${name}: ${res.statusCode} ${res.body}`)
    return res.json() as { id: number; token: string }
  }
  const deploy = await create(2, 'alice deploy', ['api'], 60)
  const script = await create(2, 'alice old script', ['read_api'], 10)
  const backup = await create(3, 'bob backup', ['api'], 90)
  const migrating = await create(3, 'bob migrating', ['api'], 90)

  // Recorded use through /authorize: alice's deploy job reads code on api (102) today and did so
  // yesterday (a proposal); bob's backup read code on cli (201) once (too little for one).
  const backend = { authorization: `Bearer ${await c.jwt.service('backend', ['authorize'])}` }
  const ask = async (token: string, permission: string, id: number) =>
    ((await c.app.inject({ method: 'POST', url: '/api/v4/authorize', headers: backend, payload: { token, permission, resource: { type: 'project', id } } })).json() as { allowed: boolean }).allowed
  for (let i = 0; i < 8; i++) t.equal(await ask(deploy.token, 'read_code', 102), true)
  t.equal(await ask(backup.token, 'read_code', 201), true)
  for (let i = 0; i < 6; i++) t.equal(await ask(migrating.token, 'read_code', 201), true)
  await c.app.usage.flush()
  await c.app.db.insertInto('token_usage_daily').values([
    { token_id: deploy.id, day: inDays(-1), permission: 'read_code', namespace_id: 102, allowed: 8, denied: 0 },
    { token_id: migrating.id, day: inDays(-1), permission: 'read_code', namespace_id: 201, allowed: 6, denied: 0 },
  ]).execute()
  // bob converts one of his: it keeps working for the grace period.
  const converted = await c.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${migrating.id}/convert`, headers: await as(3), payload: {} })
  t.equal(converted.statusCode, 201, 'bob converts "bob migrating"')
  const successorId = (converted.json() as { id: number }).id
  // bob's group opensource (200) goes fine-grained only in 30 days.
  const policy = await c.app.inject({ method: 'PUT', url: '/api/v4/groups/200/personal_access_token_policy', headers: await as(3), payload: { enforce_fine_grained_from: inDays(30) } })
  t.equal(policy.statusCode, 200, 'enforcement date set')

  const report = async (userId: number, path: string) => (await c.app.inject({ url: path, headers: await as(userId) })).json() as Report
  const card = async (page: Page, id: string) => Number(await page.getByTestId(id).locator('.summary-value').textContent())
  const expectSummary = async (page: Page, api: Report, where: string) => {
    t.equal(await card(page, 'legacy-total'), api.summary.total, `${where}: total as the API counts`)
    t.equal(await card(page, 'legacy-recent'), api.summary.used_last_30_days, `${where}: used in the last 30 days`)
    t.equal(await card(page, 'legacy-proposals'), api.summary.with_proposal, `${where}: with a proposal`)
    t.equal(await card(page, 'legacy-converting'), api.summary.being_converted, `${where}: being converted`)
  }
  const noHorizontalScroll = async (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)

  t.test('an administrator: the instance, and a what-if cut-off', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'root', '/console/inventory?scope=instance')
    await page.getByRole('link', { name: 'Legacy tokens' }).click()
    await page.getByTestId(`legacy-row-${deploy.id}`).waitFor()
    t.match(page.url(), /[?&]view=legacy/, 'the view is in the address')
    const api = await report(1, '/api/v4/admin/personal_access_tokens/legacy_report')
    t.same([api.summary.total, api.summary.being_converted, api.summary.with_proposal], [4, 1, 2], 'the API counts the four, one converting, two with a proposal')
    t.equal(api.summary.would_stop_working, null, 'no instance cut-off')
    await expectSummary(page, api, 'instance')
    t.match(await page.getByTestId('legacy-stop-line').textContent(), /No cut-off is set/)
    t.equal(await page.getByTestId('legacy-table').locator('tbody tr').count(), 4)

    const row = (id: number) => page.getByTestId(`legacy-row-${id}`)
    t.match(await row(deploy.id).textContent(), /Alice Developer \(@alice\).*alice deploy.*api/)
    const deployProposal = api.tokens.find((x) => x.id === deploy.id)!.proposal
    t.ok(deployProposal.recommended_granular_scopes, 'the API proposes scopes for alice deploy')
    t.match(await row(deploy.id).getByTestId('legacy-proposal').textContent(), deployProposal.summary)
    t.match(await row(deploy.id).getByTestId('legacy-proposal').textContent(), /Confidence: Low/)
    const backupProposal = api.tokens.find((x) => x.id === backup.id)!.proposal
    t.equal(backupProposal.recommended_granular_scopes, null)
    t.match(await row(backup.id).getByTestId('legacy-proposal').textContent(), `No proposal: ${backupProposal.reason}`)
    t.match(await row(backup.id).textContent(), /Bob Reporter \(@bob\)/)
    t.match(await row(migrating.id).getByTestId('legacy-conversion').textContent(), new RegExp(`Converting to token #${successorId}; stops working`))
    t.match(await row(script.id).textContent(), /read_api.*Never used.*Not converted/)
    await expectAccessible(t, page, 'legacy report (root)')
    await screenshot(page, 'legacy-report-instance')

    // What if legacy tokens stopped working in 20 days: the old script has expired by then, and the converted one is revoked.
    await page.getByLabel('What if legacy tokens stopped working on').fill(inDays(20))
    await page.getByRole('button', { name: 'Count' }).click()
    await page.waitForURL(new RegExp(`cutoff=${inDays(20)}`))
    const whatIf = await report(1, `/api/v4/admin/personal_access_tokens/legacy_report?cutoff=${inDays(20)}`)
    t.equal(whatIf.summary.would_stop_working, 2, 'the API: deploy and backup would stop')
    await page.getByTestId('legacy-stopping').getByText(String(whatIf.summary.would_stop_working), { exact: true }).waitFor()
    t.match(await page.getByTestId('legacy-stop-line').textContent(), /^2 legacy tokens would stop working on .* \(your what-if date\)\.$/)
    t.equal(await page.getByTestId('legacy-stop-line').getAttribute('role'), 'status')

    // The address carries the question: a reload asks it again.
    await page.reload()
    await page.getByTestId(`legacy-row-${deploy.id}`).waitFor()
    t.equal(await page.getByLabel('What if legacy tokens stopped working on').inputValue(), inDays(20))
    t.equal(await card(page, 'legacy-stopping'), 2)
  })

  t.test('a group owner: their group, its enforcement date, on a phone', async (t) => {
    const page = await c.newPage('phone')
    await signInAs(page, 'bob', '/console/inventory?view=legacy')
    await page.getByTestId(`legacy-row-${backup.id}`).waitFor()
    const api = await report(3, '/api/v4/groups/200/personal_access_tokens/legacy_report')
    t.equal(api.summary.enforcement_date, inDays(30))
    await expectSummary(page, api, 'group')
    t.equal(await card(page, 'legacy-stopping'), api.summary.would_stop_working, 'would stop at the group\'s cut-off, as the API counts')
    t.equal(api.summary.would_stop_working, 2, 'alice deploy and bob backup are live in 30 days')
    t.match(await page.getByTestId('legacy-stop-line').textContent(), /the group’s “Fine-grained only from” date/)
    t.match(await page.getByTestId('legacy-enforcement').textContent(), /enforce_fine_grained_from/)
    t.equal(await page.getByTestId('legacy-table').locator('tbody tr').count(), api.tokens.length)
    t.ok(await noHorizontalScroll(page), 'no horizontal scroll on a phone')
    await expectAccessible(t, page, 'legacy report (bob, phone)')
    await screenshot(page, 'legacy-report-group-phone')

    // Sooner: the old script (expires in 10 days) and the converted one would stop too.
    await page.getByLabel('What if legacy tokens stopped working on').fill(inDays(5))
    await page.getByRole('button', { name: 'Count' }).click()
    const sooner = await report(3, `/api/v4/groups/200/personal_access_tokens/legacy_report?cutoff=${inDays(5)}`)
    t.equal(sooner.summary.would_stop_working, 4)
    await page.getByTestId('legacy-stopping').getByText(String(sooner.summary.would_stop_working), { exact: true }).waitFor()
    t.match(await page.getByTestId('legacy-stop-line').textContent(), /^4 legacy tokens would stop working/)
    await page.getByRole('button', { name: 'Use the enforcement date' }).click()
    await page.getByTestId('legacy-stopping').getByText('2', { exact: true }).waitFor()
    t.notMatch(page.url(), /cutoff=/, 'back to the enforcement date')
    t.ok(await noHorizontalScroll(page), 'still no horizontal scroll')
  })
})
