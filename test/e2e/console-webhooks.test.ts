// The Webhooks page against the real service: root registers an instance endpoint (an SSRF target
// is refused next to the URL field first), reads its signing secret once, edits its events, sees
// the delivery of a token event in the log, redelivers it, rotates the secret (the next delivery
// verifies with the new one only) and deletes it. Bob manages Open Source's endpoint and re-enables
// it after it was disabled for failing; alice, owner of nothing, gets the API's 404. Scanned with axe.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { withWebhookTables } from '../../src/modules/webhooks/tables.js'
import { startWorker } from '../../src/worker.js'
import { LogCapture } from '../helpers/app.js'
import { expectAccessible, screenshot, signInAs, startConsole } from '../helpers/console.js'
import { inDays } from '../helpers/fixtures.js'

interface Hit { headers: Record<string, string>; body: string }

async function startReceiver(t: { teardown: (fn: () => unknown) => void }) {
  const hits: Hit[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      hits.push({ headers: req.headers as Record<string, string>, body })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { hits, url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const signed = (h: Hit) => ({ 'webhook-id': h.headers['webhook-id'], 'webhook-timestamp': h.headers['webhook-timestamp'], 'webhook-signature': h.headers['webhook-signature'] })

async function secretShown(page: Page) {
  const input = page.getByRole('dialog').getByTestId('secret-value')
  await input.waitFor()
  return input.inputValue()
}

t.test('console: webhooks of the instance and of a group', async (t) => {
  const receiver = await startReceiver(t)
  const c = await startConsole(t, { WEBHOOK_ALLOWED_RANGES: '127.0.0.0/8' })
  const worker = await startWorker(c.config, {
    schedule: false, outboxPollMs: null, logStream: new LogCapture(), webhookRetry: { attempts: 2, backoffMs: 50 },
    transport: { description: 'test', send: async () => ({ response: '250 ok' }), close: () => {} },
  })
  t.teardown(() => worker.close())
  const as = async (userId: number) => ({ authorization: `Bearer ${await c.jwt.user(userId)}` })
  const root = await as(1)
  const api = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) => c.app.inject({ method, url, headers, ...(payload ? { payload } : {}) })

  t.test('an administrator manages an instance endpoint', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'root', '/console/tokens')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click()
    await page.getByRole('heading', { name: 'Endpoints of the instance' }).waitFor()
    await page.getByTestId('webhook-empty').waitFor()
    t.match(page.url(), /scope=instance/)
    await expectAccessible(t, page, 'webhooks, empty (root)')

    // An SSRF target: refused, in words, next to the URL field.
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Payload URL').fill('https://169.254.169.254/latest/meta-data')
    await dialog.getByTestId('event-token.created').check()
    await dialog.getByRole('button', { name: 'Add endpoint' }).click()
    await dialog.getByTestId('error-url').waitFor()
    t.match(await dialog.getByTestId('error-url').textContent(), /^The URL is refused: .*169\.254\.169\.254/)
    t.equal(await dialog.getByLabel('Payload URL').getAttribute('aria-invalid'), 'true')
    await expectAccessible(t, page, 'webhook form with a refused URL')
    t.same((await api('GET', '/api/v4/admin/personal_access_token_webhooks', root)).json(), [], 'nothing was registered')

    // No event: said before asking.
    await dialog.getByTestId('event-token.created').uncheck()
    await dialog.getByLabel('Payload URL').fill(receiver.url('/siem'))
    await dialog.getByRole('button', { name: 'Add endpoint' }).click()
    t.equal(await dialog.getByTestId('error-events').textContent(), 'Choose at least one event.')

    await dialog.getByTestId('event-token.created').check()
    await dialog.getByTestId('event-token.revoked').check()
    await dialog.getByLabel('Description (optional)').fill('SIEM')
    await dialog.getByRole('button', { name: 'Add endpoint' }).click()
    const secret = await secretShown(page)
    t.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/, 'the signing secret is shown')
    t.match(await dialog.textContent(), /You will not see it again.*webhook-signature/)
    await expectAccessible(t, page, 'webhook secret shown once')
    await screenshot(page, 'webhooks-secret')
    await dialog.getByRole('button', { name: 'Done' }).click()

    const listed = (await api('GET', '/api/v4/admin/personal_access_token_webhooks', root)).json() as Array<{ id: number; url: string; events: string[]; enabled: boolean; description: string }>
    t.equal(listed.length, 1)
    const hook = listed[0]
    t.match(hook, { url: receiver.url('/siem'), enabled: true, description: 'SIEM' })
    t.same([...hook.events].sort(), ['token.created', 'token.revoked'])
    t.notOk('secret' in hook, 'the API does not answer the secret again')
    const row = page.getByTestId(`webhook-row-${hook.id}`)
    await row.waitFor()
    t.match(await row.textContent(), /\/siem.*SIEM.*token\.created.*token\.revoked.*Enabled.*None yet/)
    t.notOk((await page.content()).includes(secret), 'the secret is gone from the page')
    await expectAccessible(t, page, 'webhooks list (root)')

    // Edit the events: revoked out, rotated in.
    await row.getByRole('button', { name: /^Edit/ }).click()
    await dialog.getByTestId('event-token.revoked').uncheck()
    await dialog.getByTestId('event-token.rotated').check()
    await dialog.getByRole('button', { name: 'Save endpoint' }).click()
    await page.getByTestId('webhook-status').getByText(/saved/).waitFor()
    const edited = (await api('GET', `/api/v4/admin/personal_access_token_webhooks/${hook.id}`, root)).json() as { events: string[] }
    t.same([...edited.events].sort(), ['token.created', 'token.rotated'], 'the API has the new events')

    // A token event is delivered, and shows in the log.
    const token = await api('POST', '/api/v4/user/personal_access_tokens', await as(2), { name: 'ci deploy', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] })
    t.equal(token.statusCode, 201, token.body)
    await worker.dispatchNow()
    const deliveries = async () => (await api('GET', `/api/v4/admin/personal_access_token_webhooks/${hook.id}/deliveries`, root)).json() as Array<{ id: number; status: string; redeliveries: number; webhook_id: string }>
    const [delivery] = await until('the delivery', async () => ((await deliveries())[0]?.status === 'delivered' ? deliveries() : undefined))
    t.doesNotThrow(() => new Webhook(secret).verify(receiver.hits[0].body, signed(receiver.hits[0])), 'signed with the secret shown')
    await page.reload()
    await row.getByRole('button', { name: /^Deliveries/ }).click()
    const logRow = page.getByTestId(`delivery-row-${delivery.id}`)
    await logRow.waitFor()
    t.match(await logRow.textContent(), /token\.created.*Delivered \(204\).*1.*204.*—/)
    t.match(await row.textContent(), /Delivered \(204\)/, 'the list shows the last delivery')
    await expectAccessible(t, page, 'webhook delivery log')
    await screenshot(page, 'webhooks-deliveries')

    await logRow.getByRole('button', { name: /^Redeliver/ }).click()
    await page.getByTestId('delivery-status').getByText(/queued again/).waitFor()
    t.equal((await deliveries())[0].redeliveries, 1, 'the API counts the redelivery')
    await worker.dispatchNow()
    await until('the redelivery', async () => receiver.hits.length >= 2)
    t.equal(receiver.hits[1].headers['webhook-id'], delivery.webhook_id, 'same webhook-id')

    // Rotate: the new secret is shown once and signs from now on.
    await row.getByRole('button', { name: /^Rotate secret/ }).click()
    t.match(await dialog.textContent(), /stops signing at once/)
    await dialog.getByRole('button', { name: 'Rotate secret' }).click()
    const rotated = await secretShown(page)
    t.match(rotated, /^whsec_/)
    t.not(rotated, secret, 'a new secret')
    await dialog.getByRole('button', { name: 'Done' }).click()
    await until('the redeliver button', async () => (await page.getByTestId(`delivery-row-${delivery.id}`).getByRole('button', { name: /^Redeliver/ }).isEnabled()))
    await page.getByTestId(`delivery-row-${delivery.id}`).getByRole('button', { name: /^Redeliver/ }).click()
    await page.getByTestId('delivery-status').getByText(/queued again/).waitFor()
    await worker.dispatchNow()
    await until('the second redelivery', async () => receiver.hits.length >= 3)
    t.doesNotThrow(() => new Webhook(rotated).verify(receiver.hits[2].body, signed(receiver.hits[2])), 'signed with the rotated secret')
    t.throws(() => new Webhook(secret).verify(receiver.hits[2].body, signed(receiver.hits[2])), 'not with the old one')

    // Delete, after confirming.
    await row.getByRole('button', { name: /^Delete/ }).click()
    await expectAccessible(t, page, 'delete confirmation')
    await dialog.getByRole('button', { name: 'Delete endpoint' }).click()
    await page.getByTestId('webhook-empty').waitFor()
    t.equal((await api('GET', `/api/v4/admin/personal_access_token_webhooks/${hook.id}`, root)).statusCode, 404, 'gone from the API')
  })

  t.test('a group owner manages the group\'s endpoint and re-enables it', async (t) => {
    const bob = await as(3)
    const page = await c.newPage('phone')
    await signInAs(page, 'bob', '/console/webhooks')
    await page.getByRole('heading', { name: 'Endpoints of group Open Source' }).waitFor()
    t.match(page.url(), /scope=group%3A200|scope=group:200/)
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Payload URL').fill(receiver.url('/oss'))
    await dialog.getByRole('button', { name: 'Select all events' }).click()
    await dialog.getByRole('button', { name: 'Add endpoint' }).click()
    t.match(await secretShown(page), /^whsec_/)
    await dialog.getByRole('button', { name: 'Done' }).click()
    const [hook] = (await api('GET', '/api/v4/groups/200/personal_access_token_webhooks', bob)).json() as Array<{ id: number; events: string[]; group_id: number }>
    t.equal(hook.group_id, 200)
    t.equal(hook.events.length, 13, 'every event type')
    t.equal((await api('GET', '/api/v4/admin/personal_access_token_webhooks', await as(1))).json().length, 0, 'not an instance endpoint')

    // Disabled after persistent failure (as the worker does it): the reason shows; bob turns it on again.
    await withWebhookTables(c.app.db).updateTable('webhook_endpoints').set({ enabled: false, disabled_at: new Date(), disabled_reason: '5 deliveries in a row failed (HTTP 500)', consecutive_failures: 5 }).where('id', '=', hook.id).execute()
    await page.reload()
    const row = page.getByTestId(`webhook-row-${hook.id}`)
    await row.waitFor()
    t.match(await row.textContent(), /All 13 events.*Disabled.*Automatically.*5 deliveries in a row failed \(HTTP 500\).*5 failed in a row/)
    await expectAccessible(t, page, 'group webhooks with a disabled endpoint (bob, phone)')
    await screenshot(page, 'webhooks-group-phone')
    await row.getByRole('button', { name: /^Edit/ }).click()
    t.match(await dialog.textContent(), /This endpoint is disabled: 5 deliveries in a row failed/)
    await dialog.getByRole('checkbox', { name: /Enabled \(deliver/ }).check()
    await dialog.getByRole('button', { name: 'Save endpoint' }).click()
    await page.getByTestId('webhook-status').getByText(/saved/).waitFor()
    const after = (await api('GET', `/api/v4/groups/200/personal_access_token_webhooks/${hook.id}`, bob)).json() as { enabled: boolean; consecutive_failures: number }
    t.equal(after.enabled, true, 're-enabled in the API')
    t.equal(after.consecutive_failures, 0, 'its failure count starts again')
    await row.getByRole('button', { name: /^Delete/ }).click()
    await dialog.getByRole('button', { name: 'Delete endpoint' }).click()
    await page.getByTestId('webhook-empty').waitFor()
    t.same((await api('GET', '/api/v4/groups/200/personal_access_token_webhooks', bob)).json(), [])
  })

  t.test('someone who owns nothing sees no webhooks', async (t) => {
    const page = await c.newPage('desktop')
    await signInAs(page, 'alice', '/console/webhooks')
    await page.getByTestId('nothing-to-manage').waitFor()
    t.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).count(), 0, 'no Webhooks link')
    await page.goto('/console/webhooks?scope=group:200')
    const alert = page.getByRole('alert')
    await alert.waitFor()
    t.match(await alert.textContent(), /Group 200 not found/i)
    t.equal(await page.getByRole('button', { name: 'Add endpoint' }).count(), 0, 'nothing to add to')
    await expectAccessible(t, page, 'webhooks of a group alice does not own')
    const res = await api('GET', '/api/v4/groups/200/personal_access_token_webhooks', await as(2))
    t.equal(res.statusCode, 404, 'the API says the same')
    t.equal(res.json().code, 'not_found')
  })
})
