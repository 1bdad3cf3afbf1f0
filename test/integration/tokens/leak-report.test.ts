// Leak reports in the shape of GitHub's secret-scanning partner program: a signed report (or one
// from a service holding leaks:report) revokes exactly the issued tokens it names, with their
// rotation family, labels each match as GitHub expects, and mails the owner once.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { generateToken } from '../../../src/domain/token-format.js'
import { build, type TestContext } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ALICE, API_PROJECT, asUser, BOB, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader, type TokenJson } from '../../helpers/tokens.js'
import { flat, setUpJobs } from '../jobs/setup.js'

const URL_PATH = '/api/v4/secret_scanning/reports'
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c'

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey }
}
const scanner = keyPair()
const keysEnv = (pem = scanner.pem) => ({ LEAK_REPORT_PUBLIC_KEYS: JSON.stringify([{ key_identifier: KEY_ID, key: pem, is_current: true }]) })

const signed = (body: string, key: KeyObject = scanner.privateKey, keyId = KEY_ID) => ({
  'content-type': 'application/json',
  'github-public-key-identifier': keyId,
  'github-public-key-signature': sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64'),
})

const finding = (token: string, i = 0) => ({ token, type: 'fgpat_personal_access_token', url: `https://github.com/octo/leaky/blob/abc${i}/.env`, source: 'content' })

async function report(ctx: TestContext, entries: unknown[]) {
  const body = JSON.stringify(entries)
  return ctx.app.inject({ method: 'POST', url: URL_PATH, headers: signed(body), payload: body })
}

async function stateOf(ctx: TestContext, id: number) {
  return ctx.app.db.selectFrom('personal_access_tokens').select(['revoked_at', 'revoke_reason', 'revoked_by']).where('id', '=', id).executeTakeFirstOrThrow()
}

async function events(ctx: TestContext, action: string) {
  return ctx.app.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute()
}

async function rotate(ctx: TestContext, token: TokenJson): Promise<TokenJson> {
  const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${token.id}/rotate`, headers: await asUser(ctx, ALICE) })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json() as TokenJson
}

t.test('a signed report revokes exactly the issued tokens it names, with their rotation family, and labels each match', async (t) => {
  const ctx = await build(t, { env: keysEnv() })
  await seedDirectory(ctx)
  const authorize = await authorizer(ctx)
  const leaked = await createToken(ctx, ALICE, { name: 'ci' })
  const kept = await createToken(ctx, ALICE, { name: 'laptop' })
  const bobs = await createToken(ctx, BOB, { name: 'bob', granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  const old = await createToken(ctx, ALICE, { name: 'deploy' })
  const successor = await rotate(ctx, old)
  const project = { type: 'project', id: API_PROJECT }
  t.equal((await authorize(leaked.token!, 'read_code', project)).allowed, true, 'allowed (and cached) before the report')

  const unknown = generateToken('fgpat-')
  const badChecksum = leaked.token!.slice(0, -1) + (leaked.token!.endsWith('A') ? 'B' : 'A')
  const res = await report(ctx, [finding(leaked.token!), finding(old.token!, 1), finding(unknown, 2), finding(badChecksum, 3), finding('not a token at all', 4)])
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), [
    { token_raw: leaked.token, token_type: 'fgpat_personal_access_token', label: 'true_positive' },
    { token_raw: old.token, token_type: 'fgpat_personal_access_token', label: 'true_positive' },
    { token_raw: unknown, token_type: 'fgpat_personal_access_token', label: 'false_positive' },
    { token_raw: badChecksum, token_type: 'fgpat_personal_access_token', label: 'false_positive' },
    { token_raw: 'not a token at all', token_type: 'fgpat_personal_access_token', label: 'false_positive' },
  ])

  t.match(await stateOf(ctx, leaked.id), { revoke_reason: 'leaked', revoked_by: `secret_scanner:${KEY_ID}` })
  t.match(await stateOf(ctx, successor.id), { revoke_reason: 'leaked' }, 'the rotated-away secret leaked: its live successor is revoked too')
  t.match(await stateOf(ctx, old.id), { revoke_reason: 'rotated' }, 'the rotated-away token keeps its own reason')
  t.equal((await stateOf(ctx, kept.id)).revoked_at, null, 'another token of the same owner is untouched')
  t.equal((await stateOf(ctx, bobs.id)).revoked_at, null)

  t.match(await authorize(leaked.token!, 'read_code', project), { allowed: false, reason: 'token_revoked' }, 'the cached allow is gone at once')
  t.match(await authorize(successor.token!, 'read_code', project), { allowed: false, reason: 'token_revoked' })
  t.match(await authorize(kept.token!, 'read_code', project), { allowed: true }, 'the other token keeps working')

  const leakedEvents = await events(ctx, 'token.leaked')
  t.same(leakedEvents.map((e) => e.target_id), [String(leaked.id), String(old.id)])
  t.match(leakedEvents[0], { actor_type: 'secret_scanner', actor_id: KEY_ID })
  t.match(JSON.parse(JSON.stringify(leakedEvents[0].details)), {
    leak_url: 'https://github.com/octo/leaky/blob/abc0/.env', leak_source: 'content', leak_type: 'fgpat_personal_access_token',
    revoke_reason: 'leaked', revoked_token_ids: [leaked.id], token_hint: leaked.token_hint, user_id: ALICE,
  })
  t.match(JSON.parse(JSON.stringify(leakedEvents[1].details)), { revoked_token_ids: [successor.id] })
  const revoked = await events(ctx, 'token.revoked')
  t.same(revoked.filter((e) => (e.details as { revoke_reason?: string }).revoke_reason === 'leaked').map((e) => e.target_id).sort(), [String(leaked.id), String(successor.id)].sort())
  const stored = JSON.stringify(await ctx.app.db.selectFrom('audit_events').selectAll().execute())
  for (const secret of [leaked.token!, old.token!, successor.token!, unknown]) {
    t.notOk(stored.includes(secret), 'no secret in the audit log')
    t.notOk(ctx.logs.text.includes(secret), 'no secret in the logs')
  }
})

t.test('reporting again (or twice in one report) revokes nothing more and records a plain report', async (t) => {
  const ctx = await build(t, { env: keysEnv() })
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  const first = await report(ctx, [finding(token.token!), finding(token.token!, 1)])
  t.same(first.json().map((l: { label: string }) => l.label), ['true_positive', 'true_positive'])
  t.equal((await events(ctx, 'token.leaked')).length, 1, 'the same token twice in one report: one revocation')

  const again = await report(ctx, [finding(token.token!, 2)])
  t.equal(again.statusCode, 200)
  t.same(again.json(), [{ token_raw: token.token, token_type: 'fgpat_personal_access_token', label: 'true_positive' }], 'already revoked: still a true positive (it was real)')
  t.equal((await events(ctx, 'token.leaked')).length, 1, 'no second token.leaked (no second mail)')
  const plain = await events(ctx, 'token.leak_reported')
  t.equal(plain.length, 1)
  t.match(JSON.parse(JSON.stringify(plain[0].details)), { already_revoked: true, revoke_reason: 'leaked', leak_url: 'https://github.com/octo/leaky/blob/abc2/.env' })

  // A token revoked for another reason before it leaked: a true positive, nothing changed.
  const revokedBefore = await createToken(ctx, ALICE, { name: 'old' })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${revokedBefore.id}`, headers: await asUser(ctx, ALICE) })
  const res = await report(ctx, [finding(revokedBefore.token!)])
  t.equal(res.json()[0].label, 'true_positive')
  t.match(await stateOf(ctx, revokedBefore.id), { revoke_reason: 'owner' })
})

t.test('signature failures: 401 problem+json with one answer for every cause', async (t) => {
  const other = keyPair()
  const ctx = await build(t, { env: keysEnv() })
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  const body = JSON.stringify([finding(token.token!)])
  const good = signed(body)
  const cases: [string, Record<string, string>, string][] = [
    ['signed by another key', signed(body, other.privateKey), body],
    ['unknown key identifier', signed(body, scanner.privateKey, 'no-such-key'), body],
    ['signature over other bytes', good, body.replace('content', 'commit')],
    ['whitespace added to the signed body', good, `${body} `],
    ['no signature header', { 'content-type': 'application/json', 'github-public-key-identifier': KEY_ID }, body],
    ['no key identifier header', { 'content-type': 'application/json', 'github-public-key-signature': good['github-public-key-signature'] }, body],
    ['signature not base64', { ...good, 'github-public-key-signature': '***' }, body],
    ['signature base64 but not DER', { ...good, 'github-public-key-signature': Buffer.from('garbage').toString('base64') }, body],
    ['invalid JSON, bad signature: 401 before any parsing', signed('[x'), '[{'],
    ['no body', good, ''],
  ]
  for (const [name, headers, payload] of cases) {
    const res = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers, payload })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['content-type'], /^application\/problem\+json/, name)
    t.equal(res.json().code, 'invalid_signature', name)
    t.notMatch(res.body, /key identifier|no-such-key|DER|base64/i, `${name}: the answer does not say which part failed`)
  }
  t.equal((await stateOf(ctx, token.id)).revoked_at, null, 'nothing revoked by a failed report')
  t.equal((await events(ctx, 'token.leaked')).length, 0)

  // Without configured keys, no signature verifies.
  const bare = await build(t)
  const res = await bare.app.inject({ method: 'POST', url: URL_PATH, headers: good, payload: body })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_signature')
})

t.test('bad signatures count toward AUTH_FAILURE_LIMIT per address: then 429 with Retry-After; another address still reports', async (t) => {
  const LIMIT = 3
  const ctx = await build(t, { env: { ...keysEnv(), AUTH_FAILURE_LIMIT: String(LIMIT) } })
  await seedDirectory(ctx)
  const other = keyPair()
  const token = await createToken(ctx, ALICE)
  const body = JSON.stringify([finding(token.token!)])
  const forge = (remoteAddress: string, payload = body) => ctx.app.inject({ method: 'POST', url: URL_PATH, remoteAddress, headers: signed(payload, other.privateKey), payload })
  for (let i = 0; i < LIMIT; i++) {
    const res = await forge('203.0.113.9', i === 1 ? '' : body)
    t.equal(res.statusCode, 401, `attempt ${i + 1}: 401 (the empty body one counts too)`)
    t.equal(res.json().code, 'invalid_signature')
  }
  const limited = await forge('203.0.113.9')
  t.equal(limited.statusCode, 429, 'over the limit')
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.equal(limited.json().code, 'too_many_failed_authentications')
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After says when to come back')
  t.equal((await forge('198.51.100.7')).statusCode, 401, 'counted per address: another address still gets its 401')
  const genuine = await ctx.app.inject({ method: 'POST', url: URL_PATH, remoteAddress: '198.51.100.7', headers: signed(body), payload: body })
  t.equal(genuine.statusCode, 200, 'a good signature is still accepted')
  t.equal(genuine.json()[0].label, 'true_positive')
  t.equal((await stateOf(ctx, token.id)).revoke_reason, 'leaked')
})

t.test('a service JWT with leaks:report may report; without the scope, or as a user or a PAT, it may not', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE)
  const payload = [finding(token.token!)]
  const as = async (authorization: Record<string, string>) => ctx.app.inject({ method: 'POST', url: URL_PATH, headers: authorization, payload })

  t.equal((await as({})).statusCode, 401, 'no credential')
  const noScope = await as({ authorization: `Bearer ${await ctx.jwt.service('soc', ['authorize'])}` })
  t.equal(noScope.statusCode, 403)
  t.equal(noScope.json().code, 'missing_scope')
  const user = await as({ authorization: `Bearer ${await ctx.jwt.user(ALICE, ['leaks:report'])}` })
  t.equal(user.statusCode, 200, 'a user JWT holding the scope is a JWT caller with the scope (requireScope)')
  t.equal(user.json()[0].label, 'true_positive')
  const other = await createToken(ctx, ALICE, { name: 'other' })
  const pat = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: patHeader(other.token!), payload: [finding(other.token!)] })
  t.equal(pat.statusCode, 403)
  t.equal(pat.json().code, 'jwt_required')
  t.equal((await stateOf(ctx, other.id)).revoked_at, null)

  const service = { authorization: `Bearer ${await ctx.jwt.service('soc', ['leaks:report'])}` }
  const res = await as(service)
  t.equal(res.statusCode, 200)
  t.equal(res.json()[0].label, 'true_positive', 'already revoked by the previous report')
  const third = await createToken(ctx, ALICE, { name: 'third' })
  await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: service, payload: [finding(third.token!)] })
  t.match(await stateOf(ctx, third.id), { revoke_reason: 'leaked', revoked_by: 'service:soc' })

  // Bounds: the array and each string.
  const tooMany = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: service, payload: Array.from({ length: 101 }, (_, i) => finding(`x${i}`)) })
  t.equal(tooMany.statusCode, 400)
  const longToken = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: service, payload: [finding('x'.repeat(1025))] })
  t.equal(longToken.statusCode, 400)
  t.match(longToken.json().errors, [{ path: /token/ }])
  const missing = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: service, payload: [{ token: 'x' }] })
  t.equal(missing.statusCode, 400)
  const notArray = await ctx.app.inject({ method: 'POST', url: URL_PATH, headers: service, payload: { token: 'x' } })
  t.equal(notArray.statusCode, 400)
})

t.test('the owner is mailed once, where it was found, without the secret', async (t) => {
  const { ctx, smtp, worker } = await setUpJobs(t, { env: keysEnv(), worker: { outboxPollMs: null } })
  const token = await createToken(ctx, ALICE, { name: 'ci' })
  const successor = await rotate(ctx, token)
  await worker.dispatchNow()
  await smtp.waitFor(2) // created, rotated
  const before = smtp.mails.length

  t.equal((await report(ctx, [finding(successor.token!)])).statusCode, 200)
  t.equal((await report(ctx, [finding(successor.token!, 1), finding(token.token!, 2)])).statusCode, 200, 'reported again, and its rotated-away predecessor')
  await worker.dispatchNow()
  await smtp.waitFor(before + 1)
  await new Promise((r) => setTimeout(r, 500))
  const mails = smtp.mails.slice(before)
  t.equal(mails.length, 1, 'one mail for the report; the revocation it caused is in it, and the repeats mail nobody')
  const [mail] = mails
  t.equal(mail.event, 'token.leaked')
  t.match(mail.subject, /found in public and revoked/)
  t.match(flat(mail.text), /https:\/\/github\.com\/octo\/leaky\/blob\/abc0\/\.env/)
  t.match(flat(mail.text), /secret scanner/)
  t.match(flat(mail.text), new RegExp(`#${successor.id}`))
  for (const secret of [token.token!, successor.token!]) {
    t.notOk(mail.raw.includes(secret), 'no secret in the mail')
  }
})

t.test('LEAK_REPORT_PUBLIC_KEYS is validated at start', async (t) => {
  const base = { DATABASE_URL: 'postgres://x@localhost/x', REDIS_URL: 'redis://localhost', TOKEN_PEPPERS: 'p'.repeat(32), AUTH_JWT_SECRET: 's'.repeat(32) }
  t.same(loadConfig(base).leakReportPublicKeys, [])
  t.equal(loadConfig({ ...base, ...keysEnv() }).leakReportPublicKeys[0].keyIdentifier, KEY_ID)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const bad: [string, RegExp][] = [
    ['not json', /JSON array/],
    ['{}', /JSON array/],
    [JSON.stringify([{ key: scanner.pem }]), /key_identifier/],
    [JSON.stringify([{ key_identifier: 'a', key: 'nope' }]), /not a PEM public key/],
    [JSON.stringify([{ key_identifier: 'a', key: rsa }]), /ECDSA P-256/],
    [JSON.stringify([{ key_identifier: 'a', key: p384 }]), /ECDSA P-256/],
    [JSON.stringify([{ key_identifier: 'a', key: scanner.pem }, { key_identifier: 'a', key: scanner.pem }]), /twice/],
  ]
  for (const [value, message] of bad) t.throws(() => loadConfig({ ...base, LEAK_REPORT_PUBLIC_KEYS: value }), { message: /LEAK_REPORT_PUBLIC_KEYS/ }, value.slice(0, 40))
  for (const [value, message] of bad) t.throws(() => loadConfig({ ...base, LEAK_REPORT_PUBLIC_KEYS: value }), { message }, value.slice(0, 40))
})
