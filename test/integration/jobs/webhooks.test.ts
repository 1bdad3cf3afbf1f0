// Signed webhooks end to end: a receiver on 127.0.0.1 (allowed by WEBHOOK_ALLOWED_RANGES) gets
// every token event once per endpoint, signed per Standard Webhooks; its outage is ridden out by
// retries under the same webhook-id; persistent failure disables the endpoint and mails; SSRF
// targets are refused; only owners see a group's webhooks; no secret ever travels.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { allowList, judgeAddress } from '../../../src/domain/webhook-targets.js'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, CAROL, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'
import { setUpJobs } from './setup.js'

const ALLOW_LOOPBACK = { WEBHOOK_ALLOWED_RANGES: '127.0.0.0/8' }

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

async function startReceiver(t: { teardown: (fn: () => unknown) => void }) {
  const received: Received[] = []
  const answered: Received[] = []
  const state = { failing: 0, alwaysFail: false }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const hit = { path: req.url ?? '', headers: req.headers, body }
      received.push(hit)
      if (state.alwaysFail || state.failing > 0) {
        state.failing = Math.max(0, state.failing - 1)
        res.writeHead(500).end('receiver outage')
        return
      }
      answered.push(hit)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`
  const waitFor = async (count: number, list = answered, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    while (list.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} deliveries, got ${list.length}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    return list
  }
  return { received, answered, state, url, waitFor }
}

const headerMap = (h: IncomingHttpHeaders) => ({
  'webhook-id': String(h['webhook-id']), 'webhook-timestamp': String(h['webhook-timestamp']), 'webhook-signature': String(h['webhook-signature']),
})

t.test('address rules: refused ranges, IPv4 wrapped in IPv6, the allow list wins', async (t) => {
  const none = allowList([])
  for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', '::ffff:10.0.0.1']) {
    const v = judgeAddress(a, none)
    t.notOk(v.ok, `${a} refused`)
  }
  for (const a of ['8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) t.ok(judgeAddress(a, none).ok, `${a} allowed`)
  const loopback = allowList(['127.0.0.0/8'])
  t.ok(judgeAddress('127.0.0.1', loopback).ok)
  t.ok(judgeAddress('::ffff:127.0.0.1', loopback).ok, 'the mapped form of an allowed IPv4 address is allowed too')
  t.notOk(judgeAddress('10.0.0.1', loopback).ok)
  t.notOk(judgeAddress('::1', loopback).ok, 'IPv6 loopback is not in an IPv4 range')
  t.throws(() => loadConfig({ ...baseEnv(), WEBHOOK_ALLOWED_RANGES: '10.0.0.0/99' }), /WEBHOOK_ALLOWED_RANGES: "10.0.0.0\/99" is not an IP address or CIDR range/, 'a bad range is a configuration error')
  t.same(loadConfig({ ...baseEnv(), WEBHOOK_ALLOWED_RANGES: '10.0.0.0/8, fd00::/8' }).webhookAllowedRanges, ['10.0.0.0/8', 'fd00::/8'])
})

function baseEnv() {
  return { DATABASE_URL: 'postgres://x@localhost/x', REDIS_URL: 'redis://localhost:6379', TOKEN_PEPPERS: 'p'.repeat(32), AUTH_JWT_SECRET: 's'.repeat(32) }
}

t.test('registration refuses SSRF targets; only owners and administrators see webhooks', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const admin = await asUser(ctx, ADMIN)
  const refused = ['http://127.0.0.1:9/hook', 'https://10.0.0.5/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/hook', 'https://[::ffff:127.0.0.1]/hook', 'https://localhost/hook', 'https://0.0.0.0/', 'ftp://example.com/']
  for (const url of refused) {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/personal_access_token_webhooks', headers: admin, payload: { url, events: ['token.created'] } })
    t.equal(res.statusCode, 400, `${url} refused`)
    t.equal(res.json().code, 'webhook_url_refused', url)
    t.equal(res.json().errors[0].path, 'body.url')
  }
  const listed = await ctx.app.inject({ method: 'GET', url: '/api/v4/admin/personal_access_token_webhooks', headers: admin })
  t.same(listed.json(), [], 'nothing was registered')

  // Group webhooks: bob owns opensource (200); alice is only a reporter there, carol nothing.
  for (const who of [ALICE, CAROL]) {
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v4/groups/200/personal_access_token_webhooks', headers: await asUser(ctx, who) })
    t.equal(res.statusCode, 404, `user ${who} does not see the group's webhooks`)
    t.equal(res.json().code, 'not_found')
  }
  const instance = await ctx.app.inject({ method: 'GET', url: '/api/v4/admin/personal_access_token_webhooks', headers: await asUser(ctx, BOB) })
  t.equal(instance.statusCode, 403)
  t.equal(instance.json().code, 'admin_required')
  const bobs = await ctx.app.inject({ method: 'GET', url: '/api/v4/groups/200/personal_access_token_webhooks', headers: await asUser(ctx, BOB) })
  t.equal(bobs.statusCode, 200)
  const bad = await ctx.app.inject({ method: 'POST', url: '/api/v4/groups/200/personal_access_token_webhooks', headers: await asUser(ctx, BOB), payload: { url: 'https://example.com/x', events: ['token.nonsense'] } })
  t.equal(bad.statusCode, 400, 'unknown event types are refused')
})

t.test('a local receiver gets every event once, signed, through its outage; redelivery keeps the id', async (t) => {
  const receiver = await startReceiver(t)
  const { ctx, worker } = await setUpJobs(t, { env: ALLOW_LOOPBACK, worker: { webhookRetry: { attempts: 6, backoffMs: 100 } } })
  const admin = await asUser(ctx, ADMIN)
  const bob = await asUser(ctx, BOB)

  const instanceHook = await ctx.app.inject({
    method: 'POST', url: '/api/v4/admin/personal_access_token_webhooks', headers: admin,
    payload: { url: receiver.url('/instance'), events: ['token.created', 'token.revoked', 'token.rotated'], description: 'SIEM' },
  })
  t.equal(instanceHook.statusCode, 201, instanceHook.body)
  const instance = instanceHook.json()
  t.match(instance.secret, /^whsec_[A-Za-z0-9+/=]{40,}$/)
  const groupHook = await ctx.app.inject({
    method: 'POST', url: '/api/v4/groups/200/personal_access_token_webhooks', headers: bob,
    payload: { url: receiver.url('/group'), events: ['token.created', 'token.revoked'] },
  })
  t.equal(groupHook.statusCode, 201, groupHook.body)
  const group = groupHook.json()
  const shown = await ctx.app.inject({ method: 'GET', url: `/api/v4/groups/200/personal_access_token_webhooks/${group.id}`, headers: bob })
  t.notOk('secret' in shown.json(), 'the secret is shown once only')
  const stored = await ctx.app.db.selectFrom('webhook_endpoints' as never).select('secret_box' as never).execute()
  t.notOk(JSON.stringify(stored).includes(instance.secret.slice(6, 20)), 'sealed at rest')

  // Token a reaches acme only; token b reaches opensource (bob's group).
  const a = await createToken(ctx, ALICE, { name: 'acme-token' })
  const b = await createToken(ctx, ALICE, { name: 'oss-token', granular_scopes: readCodeOn([201]) })
  const revoked = await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${b.id}`, headers: await asUser(ctx, ALICE) })
  t.equal(revoked.statusCode, 204)

  receiver.state.failing = 3 // the receiver's outage: the first three requests get a 500
  await worker.dispatchNow()
  const answered = await receiver.waitFor(5)
  await new Promise((r) => setTimeout(r, 500))
  t.equal(receiver.answered.length, 5, 'nothing more arrives')
  t.equal(receiver.received.length, 8, 'three failed attempts were retried')

  const seen = (path: string) => answered.filter((h) => h.path === path).map((h) => JSON.parse(h.body) as { type: string; data: { token: { id: number } } })
  t.same(seen('/instance').map((p) => `${p.type}:${p.data.token.id}`).sort(), [`token.created:${a.id}`, `token.created:${b.id}`, `token.revoked:${b.id}`].sort(), 'the instance hook gets every event')
  t.same(seen('/group').map((p) => `${p.type}:${p.data.token.id}`).sort(), [`token.created:${b.id}`, `token.revoked:${b.id}`].sort(), 'the group hook gets the events of tokens reaching the group')

  for (const hit of answered) {
    const secret = hit.path === '/instance' ? instance.secret : group.secret
    t.doesNotThrow(() => new Webhook(secret).verify(hit.body, headerMap(hit.headers)), `signature of ${hit.headers['webhook-id']} verifies`)
    const other = hit.path === '/instance' ? group.secret : instance.secret
    t.throws(() => new Webhook(other).verify(hit.body, headerMap(hit.headers)), 'and not with another secret')
    for (const secret of [a.token!, b.token!, a.token_hint, instance.secret, group.secret]) t.notOk(hit.body.includes(secret), 'no secret, hint or signing secret in the payload')
    t.notOk(/digest/i.test(hit.body))
  }
  const ids = answered.map((h) => String(h.headers['webhook-id']))
  t.equal(new Set(ids).size, 5, 'every delivery has its own webhook-id')
  const failedIds = receiver.received.filter((h) => !answered.includes(h)).map((h) => String(h.headers['webhook-id']))
  t.ok(failedIds.every((id) => ids.includes(id)), 'retries kept the webhook-id of the delivery they retried')

  const log = await ctx.app.inject({ method: 'GET', url: `/api/v4/admin/personal_access_token_webhooks/${instance.id}/deliveries`, headers: admin })
  t.equal(log.statusCode, 200)
  const rows = log.json() as Array<{ id: number; status: string; attempts: number; response_status: number; duration_ms: number; webhook_id: string }>
  t.equal(rows.length, 3)
  t.ok(rows.every((r) => r.status === 'delivered' && r.response_status === 204 && r.duration_ms >= 0))
  t.equal(rows.reduce((n, r) => n + r.attempts, 0) + (await ctx.app.inject({ method: 'GET', url: `/api/v4/groups/200/personal_access_token_webhooks/${group.id}/deliveries`, headers: bob })).json().reduce((n: number, r: { attempts: number }) => n + r.attempts, 0), 8, 'attempts are logged')
  const hidden = await ctx.app.inject({ method: 'GET', url: `/api/v4/groups/200/personal_access_token_webhooks/${group.id}/deliveries`, headers: await asUser(ctx, ALICE) })
  t.equal(hidden.statusCode, 404, 'no delivery log for non-owners')

  const redo = await ctx.app.inject({ method: 'POST', url: `/api/v4/admin/personal_access_token_webhooks/${instance.id}/deliveries/${rows[0].id}/redeliver`, headers: admin })
  t.equal(redo.statusCode, 202, redo.body)
  await worker.dispatchNow()
  await receiver.waitFor(6)
  t.equal(String(receiver.answered[5].headers['webhook-id']), rows[0].webhook_id, 'a redelivery repeats the webhook-id')
  t.doesNotThrow(() => new Webhook(instance.secret).verify(receiver.answered[5].body, headerMap(receiver.answered[5].headers)))
  const missing = await ctx.app.inject({ method: 'POST', url: `/api/v4/groups/200/personal_access_token_webhooks/${group.id}/deliveries/${rows[0].id}/redeliver`, headers: bob })
  t.equal(missing.statusCode, 404, "another endpoint's delivery is not found")
})

t.test('persistent failure disables the endpoint and mails its administrators', async (t) => {
  const receiver = await startReceiver(t)
  const { ctx, smtp, worker } = await setUpJobs(t, { env: ALLOW_LOOPBACK, worker: { webhookRetry: { attempts: 2, backoffMs: 50 }, webhookDisable: { failures: 2, afterMs: 0 } } })
  const admin = await asUser(ctx, ADMIN)
  const created = await ctx.app.inject({ method: 'POST', url: '/api/v4/admin/personal_access_token_webhooks', headers: admin, payload: { url: receiver.url('/down'), events: ['token.created'] } })
  const hook = created.json()
  receiver.state.alwaysFail = true
  await createToken(ctx, ALICE, { name: 'one' })
  await createToken(ctx, ALICE, { name: 'two' })
  await createToken(ctx, BOB, { name: 'three' })
  await worker.dispatchNow()
  const deadline = Date.now() + 20_000
  let state = (await ctx.app.inject({ method: 'GET', url: `/api/v4/admin/personal_access_token_webhooks/${hook.id}`, headers: admin })).json()
  while (state.enabled && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    state = (await ctx.app.inject({ method: 'GET', url: `/api/v4/admin/personal_access_token_webhooks/${hook.id}`, headers: admin })).json()
  }
  t.equal(state.enabled, false, 'disabled')
  t.match(state.disabled_reason, /deliveries in a row failed/)
  await worker.dispatchNow()
  const mails = await smtp.waitFor(4) // three token-created mails and the webhook one
  const notice = mails.find((m) => m.subject.startsWith('Webhook disabled'))
  t.ok(notice, 'a mail says so')
  t.same(notice?.to, ['admin@example.com'])
  t.notOk(JSON.stringify(notice).includes(hook.secret), 'no secret in the mail')

  const again = await ctx.app.inject({ method: 'PUT', url: `/api/v4/admin/personal_access_token_webhooks/${hook.id}`, headers: admin, payload: { enabled: true } })
  t.equal(again.json().enabled, true)
  t.equal(again.json().consecutive_failures, 0, 're-enabling starts the count again')
})
