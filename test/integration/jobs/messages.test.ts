// Every token event reaches its owner by mail, once: recipient, subject, the token's name and
// hint, who did what and why — and never a secret.
import t from 'tap'
import { ADMIN, ALICE, API_PROJECT, asUser, BOB, CAROL, CLI_PROJECT, inDays, OPENSOURCE, PLATFORM } from '../../helpers/fixtures.js'
import type { ReceivedMail } from '../../helpers/smtp.js'
import { createToken, type TokenJson } from '../../helpers/tokens.js'
import { flat, PUBLIC_URL, setUpJobs, undispatched, waitForDeliveries } from './setup.js'

const scopes = (permissions: string[]) => [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions }]

t.test('each token event mails the owner once, with what happened and never the secret', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t)
  const alice = await asUser(ctx, ALICE)
  const admin = await asUser(ctx, ADMIN)
  const secrets: string[] = []
  const call = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) => {
    const res = await ctx.app.inject({ method, url: `/api/v4${url}`, headers, payload })
    const body = res.body ? (res.json() as TokenJson & { code?: string }) : undefined
    if (body?.token) secrets.push(body.token)
    return { status: res.statusCode, body }
  }

  const ci = await createToken(ctx, ALICE, { name: 'ci', expires_at: inDays(30), granular_scopes: scopes(['read_code', 'read_merge_request']) })
  secrets.push(ci.token!)
  const deploy = (await call('POST', `/users/${ALICE}/personal_access_tokens`, admin, { name: 'deploy', expires_at: inDays(20), granular_scopes: scopes(['read_code']) })).body!
  const copy = (await call('POST', `/personal_access_tokens/${ci.id}/duplicate`, alice)).body!
  t.equal((await call('PATCH', `/personal_access_tokens/${ci.id}`, alice, { name: 'ci-main', expires_at: inDays(45), granular_scopes: scopes(['read_code', 'create_merge_request']) })).status, 200)
  const rotated = (await call('POST', `/personal_access_tokens/${ci.id}/rotate`, alice, { expires_at: inDays(90) })).body!
  t.equal((await call('DELETE', `/personal_access_tokens/${deploy.id}`, admin)).status, 204)
  t.equal((await call('DELETE', `/personal_access_tokens/${copy.id}`, alice)).status, 204)
  t.equal((await call('POST', `/personal_access_tokens/${ci.id}/rotate`, admin)).body?.code, 'token_reused', 'rotating ci again, by someone else: reuse (the owner again at once would be a retry)')
  t.equal(secrets.length, 4, 'four secrets were handed out')

  await worker.dispatchNow()
  const mails = await smtp.waitFor(9)
  const byEvent = new Map<string, ReceivedMail[]>()
  for (const m of mails) byEvent.set(m.event, [...(byEvent.get(m.event) ?? []), m])
  const one = (event: string, match: RegExp) => {
    const found = (byEvent.get(event) ?? []).filter((m) => match.test(m.subject))
    t.equal(found.length, 1, `one ${event} mail with subject ${match}`)
    return found[0] ?? ({ text: '', html: '', subject: '' } as ReceivedMail)
  }

  for (const m of mails) {
    t.same(m.to, ['alice@example.com'], `${m.event} goes to the owner`)
    t.match(m.from, 'no-reply@fgpat.local')
    t.ok(m.html.includes('<html') && m.text.length > 0, `${m.event} has text and HTML parts`)
    t.ok(m.text.includes(PUBLIC_URL), `${m.event} links to PUBLIC_URL`)
    for (const secret of secrets) {
      for (const part of [m.raw, m.text, m.html, m.subject]) t.notOk(part.includes(secret), `no secret in ${m.event}`)
    }
  }

  const created = one('token.created', /^New personal access token "ci" added/)
  t.match(flat(created.text), /You created a new personal access token "ci"/)
  t.match(flat(created.text), new RegExp(`Token hint:\\s+${ci.token_hint}\\.\\.\\.`))
  t.match(flat(created.text), new RegExp(`Expires:\\s+${inDays(30)} \\(00:00 UTC\\)`))
  const byAdmin = one('token.created', /"deploy"/)
  t.match(flat(byAdmin.text), /Instance Admin \(@root\) created a new personal access token "deploy" for your account/)
  const dup = one('token.created', /"ci \(copy\)"/)
  t.match(flat(dup.text), `It is a duplicate of token #${ci.id}`)

  const edited = one('token.updated', /^Your personal access token "ci-main" was changed$/)
  t.match(flat(edited.text), /Name:\s+ci -> ci-main/)
  t.match(flat(edited.text), new RegExp(`Expiry:\\s+${inDays(30)} \\(00:00 UTC\\) -> ${inDays(45)} \\(00:00 UTC\\)`))
  t.match(flat(edited.text), /Permissions added: - Merge request: Create \(create_merge_request\)/)
  t.match(flat(edited.text), /Permissions removed: - Merge request: Read \(read_merge_request\)/)
  t.match(edited.html, '<li>Merge request: Create (create_merge_request)</li>')

  const rot = one('token.rotated', /^Your personal access token "ci-main" was rotated$/)
  t.match(flat(rot.text), new RegExp(`New expiry:\\s+${inDays(90)} \\(00:00 UTC\\)`))
  t.match(flat(rot.text), new RegExp(`New token hint:\\s+${rotated.token_hint}\\.\\.\\.`))
  t.match(flat(rot.text), new RegExp(`Old token hint:\\s+${ci.token_hint}\\.\\.\\. \\(revoked\\)`))

  const byAdminRevoke = one('token.revoked', /^Your personal access token "deploy" was revoked$/)
  t.match(flat(byAdminRevoke.text), 'An administrator, Instance Admin (@root), revoked it.')
  t.match(flat(byAdminRevoke.text), /Reason:\s+revoked by an administrator/)
  const byOwner = one('token.revoked', /"ci \(copy\)" was revoked$/)
  t.match(flat(byOwner.text), 'You revoked it yourself.')
  const reuse = one('token.revoked', /^Security alert: your personal access token "ci-main" was revoked$/)
  t.match(flat(reuse.text), /already been rotated away.*leaked, so every token in the chain was revoked/s)
  t.match(flat(reuse.text), new RegExp(`Token hint:\\s+${rotated.token_hint}\\.\\.\\.`))
  const alert = one('token.reuse_detected', /^Security alert: a replaced secret of your token "ci-main" was used again$/)
  t.match(flat(alert.text), /presented in a request to rotate it again.*holds a copy of it/)
  t.match(flat(alert.text), new RegExp(`every active token of its rotation chain was revoked at once \\(1 token: #${rotated.id}\\)`))
  t.match(flat(alert.text), /Presented from:\s+127\.0\.0\.1/)

  t.equal(await undispatched(ctx), 0, 'every audit event was dispatched')
  const rows = await waitForDeliveries(ctx, 9)
  t.equal(rows.length, 9)
  t.ok(rows.every((r) => r.status === 'sent' && r.recipient === 'alice@example.com'))

  // Running the dispatcher and the jobs again changes nothing.
  await worker.dispatchNow()
  await new Promise((r) => setTimeout(r, 300))
  t.equal(smtp.mails.length, 9, 'no second mail')
})

t.test('blocked owners get no mail; the delivery is recorded as skipped', async (t) => {
  // Dispatched only when the test says: a poll between the creation and the block would send the
  // creation mail while the owner was still active (it did on a loaded machine).
  const { ctx, smtp, worker } = await setUpJobs(t, { worker: { outboxPollMs: null } })
  const token = await createToken(ctx, BOB)
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/api/v4/directory/users/${BOB}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'bob', name: 'Bob', email: 'bob@example.com', state: 'blocked' },
  })
  t.equal(res.statusCode, 200, res.body)
  await worker.dispatchNow()
  const [row] = await waitForDeliveries(ctx, 1)
  t.match(row, { status: 'skipped', detail: `owner ${BOB} is blocked` })
  t.equal(smtp.mails.length, 0)
  t.ok(token.id)
})

t.test("a group's removal of a token's access mails the owner: which group, who and why; restoring too; never a secret", async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t)
  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/namespaces/${PLATFORM}/members/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload: { access_level: 50 },
  })
  const broad = await createToken(ctx, ALICE, { name: 'deploy-bot', granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  const url = `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens/${broad.id}/remove_access`
  const carol = await asUser(ctx, CAROL)
  t.equal((await ctx.app.inject({ method: 'POST', url, headers: carol, payload: { reason: 'Moved to the new <deploy> pipeline' } })).statusCode, 201)
  t.equal((await ctx.app.inject({ method: 'POST', url, headers: carol, payload: { reason: 'again' } })).statusCode, 200, 'removing twice')
  t.equal((await ctx.app.inject({ method: 'DELETE', url, headers: carol })).statusCode, 204)

  await worker.dispatchNow()
  const mails = await smtp.waitFor(3)
  await new Promise((r) => setTimeout(r, 300))
  t.equal(smtp.mails.length, 3, 'created, removed, restored: the second removal mails nothing')
  for (const m of mails) {
    t.same(m.to, ['alice@example.com'])
    for (const part of [m.raw, m.text, m.html, m.subject]) t.notOk(part.includes(broad.token!), `no secret in ${m.event}`)
  }
  const removed = mails.find((m) => m.event === 'token.group_access_removed')!
  t.equal(removed.subject, 'Your personal access token "deploy-bot" can no longer access the group "acme/platform"')
  const text = flat(removed.text)
  t.match(text, 'Carol (@carol), as an owner of the group "acme/platform", removed the access of your personal access token "deploy-bot" to that group and everything in it')
  t.match(text, 'The token is not revoked: it keeps working everywhere else')
  t.match(text, /Group:\s+acme\/platform/)
  t.match(text, /Removed by:\s+Carol \(@carol\)/)
  t.match(text, /Reason:\s+Moved to the new <deploy> pipeline/)
  t.match(text, new RegExp(`Token hint:\\s+${broad.token_hint}\\.\\.\\.`))
  t.match(removed.html, 'Moved to the new &lt;deploy&gt; pipeline', 'the reason is escaped in HTML')
  t.notOk(removed.html.includes('<deploy>'))
  const restored = mails.find((m) => m.event === 'token.group_access_restored')!
  t.equal(restored.subject, 'Your personal access token "deploy-bot" can access the group "acme/platform" again')
  t.match(flat(restored.text), /Restored by:\s+Carol \(@carol\)/)
})

t.test("a group owner's revocation names the group in the mail", async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t)
  const onOss = await createToken(ctx, ALICE, { name: 'oss', granular_scopes: [{ access: 'selected_memberships', project_ids: [CLI_PROJECT], permissions: ['read_code'] }] })
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/groups/${OPENSOURCE}/manage/personal_access_tokens/${onOss.id}`, headers: await asUser(ctx, BOB) })).statusCode, 204)
  await worker.dispatchNow()
  const mails = await smtp.waitFor(2)
  const revoked = mails.find((m) => m.event === 'token.revoked')!
  t.match(flat(revoked.text), 'Bob (@bob), an owner of the group "opensource", revoked it.')
})
