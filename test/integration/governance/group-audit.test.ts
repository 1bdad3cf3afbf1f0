// A group's audit log holds every token event that concerned the group when it happened (the token
// reached it: a selected scope on the group or below it, or a legacy / all_memberships token of a
// member, as the group inventory counts reach) and what its owners did through it; nothing else.
import t from 'tap'
import { sendExpiryNotices } from '../../../src/jobs/expiry-sweep.js'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, asUser, BOB, CAROL, CLI_PROJECT, DOTFILES, inDays, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'
import { putGroup } from './helpers.js'

interface Event { id: number; action: string; actor: { type: string; id: string }; namespace_id: number | null; target: { type: string; id: string }; details: Record<string, unknown> }

t.test('group audit log: token events that reached the group, its owners\' actions, never other groups\' tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/namespaces/${PLATFORM}/members/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }, payload: { access_level: 50 },
  })
  const alice = await asUser(ctx, ALICE)
  const call = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) =>
    ctx.app.inject({ method, url: `/api/v4${url}`, headers, payload })

  const oss = await createToken(ctx, ALICE, { name: 'oss', granular_scopes: readCodeOn([CLI_PROJECT]) }) // reaches opensource
  const api = await createToken(ctx, ALICE, { name: 'api' }) // acme/platform/api: reaches acme and acme/platform
  const broad = await createToken(ctx, ALICE, { name: 'broad', granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] }) // wherever Alice is a member
  const legacy = await createToken(ctx, ALICE, { name: 'legacy', granular_scopes: undefined, scopes: ['read_api'] })
  const personal = await createToken(ctx, ALICE, { name: 'personal', granular_scopes: readCodeOn([DOTFILES]) }) // no group at all
  const soon = await createToken(ctx, ALICE, { name: 'soon', expires_at: inDays(5), granular_scopes: readCodeOn([CLI_PROJECT]) })

  t.equal((await call('PATCH', `/personal_access_tokens/${oss.id}`, alice, { name: 'oss-ci' })).statusCode, 200)
  t.equal((await call('PATCH', `/personal_access_tokens/${api.id}`, alice, { granular_scopes: readCodeOn([CLI_PROJECT]) })).statusCode, 200, 'api moves from acme to opensource')
  const rotated = (await call('POST', `/personal_access_tokens/${oss.id}/rotate`, alice)).json()
  const copy = (await call('POST', `/personal_access_tokens/${broad.id}/duplicate`, alice)).json()
  await sendExpiryNotices({ db: ctx.app.db, clock: () => new Date() })
  t.equal((await call('DELETE', `/groups/${OPENSOURCE}/manage/personal_access_tokens/${legacy.id}`, await asUser(ctx, BOB))).statusCode, 204)
  t.equal((await call('POST', `/groups/${OPENSOURCE}/manage/personal_access_tokens/${broad.id}/remove_access`, await asUser(ctx, BOB), { reason: 'audit' })).statusCode, 201)
  t.equal((await call('POST', `/personal_access_tokens/${oss.id}/rotate`, await asUser(ctx, ADMIN))).json().code, 'token_reused', 'the rotated-away token again: the chain is revoked')
  t.equal((await call('DELETE', `/personal_access_tokens/${personal.id}`, alice)).statusCode, 204)
  t.equal((await putGroup(ctx, OPENSOURCE, { require_expiry: true }, BOB)).statusCode, 200)

  const log = async (group: number, who: number, query = 'per_page=100') => {
    const res = await ctx.app.inject({ url: `/api/v4/groups/${group}/audit_events?${query}`, headers: await asUser(ctx, who) })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as Event[]
  }
  const seen = (events: Event[]) => new Set(events.map((e) => `${e.action} ${e.target.id}`))

  const opensource = await log(OPENSOURCE, BOB)
  const inOss = seen(opensource)
  for (const [what, entry] of [
    ['created, selected on a project of the group', `token.created ${oss.id}`],
    ['updated', `token.updated ${oss.id}`],
    ['rotated (the event names the successor)', `token.rotated ${rotated.id}`],
    ['created, broad token of a member', `token.created ${broad.id}`],
    ['created, legacy token of a member', `token.created ${legacy.id}`],
    ['duplicated', `token.created ${copy.id}`],
    ['a change that brought a token into the group', `token.updated ${api.id}`],
    ['expiring (the worker\'s sweep)', `token.expiring ${soon.id}`],
    ['revoked by the group\'s owner', `token.revoked ${legacy.id}`],
    ['its access removed by the group\'s owner', `token.group_access_removed ${broad.id}`],
    ['revoked for reuse (the whole chain)', `token.revoked ${rotated.id}`],
    ['the group\'s policy changed', `policy.group_updated ${OPENSOURCE}`],
  ] as const) t.ok(inOss.has(entry), `opensource sees: ${what}`)
  t.notOk(inOss.has(`token.created ${api.id}`), 'not a token created before it reached the group')
  t.notOk([...inOss].some((e) => e.endsWith(` ${personal.id}`)), 'not a token of personal projects')
  const byOwner = opensource.find((e) => e.action === 'token.revoked' && e.target.id === String(legacy.id))!
  t.match(byOwner, { actor: { type: 'user', id: String(BOB) }, namespace_id: OPENSOURCE, details: { revoke_reason: 'group_owner' } }, 'an owner\'s action carries the group')
  t.match(opensource.find((e) => e.action === 'token.group_access_removed'), { namespace_id: OPENSOURCE, details: { reason: 'audit', full_path: 'opensource' } })

  const acme = seen(await log(ACME, ADMIN))
  for (const entry of [`token.created ${api.id}`, `token.updated ${api.id}`, `token.created ${broad.id}`, `token.created ${legacy.id}`, `token.created ${copy.id}`]) t.ok(acme.has(entry), `acme sees ${entry}`)
  t.notOk(acme.has(`token.group_access_removed ${broad.id}`), 'another group\'s removal of its access is that group\'s business (the token still reaches acme)')
  for (const id of [oss.id, rotated.id, soon.id, personal.id]) t.notOk([...acme].some((e) => e.endsWith(` ${id}`)), `acme never sees token ${id}, which never reached it`)

  const platform = await log(PLATFORM, CAROL)
  const inPlatform = seen(platform)
  t.ok(inPlatform.has(`token.created ${api.id}`), 'a subgroup\'s owner sees the tokens selected inside it')
  t.ok(inPlatform.has(`token.updated ${api.id}`), 'and the change that took one out')
  t.ok(inPlatform.has(`token.created ${broad.id}`), 'and broad tokens of its members')
  for (const id of [oss.id, rotated.id, soon.id, personal.id]) t.notOk([...inPlatform].some((e) => e.endsWith(` ${id}`)), `not token ${id}`)
  t.notOk(platform.some((e) => e.action === 'policy.group_updated'), 'nor another group\'s policy')

  for (const [who, group] of [[BOB, ACME], [CAROL, OPENSOURCE], [CAROL, ACME], [ALICE, OPENSOURCE], [ALICE, PLATFORM]] as const) {
    t.equal((await ctx.app.inject({ url: `/api/v4/groups/${group}/audit_events`, headers: await asUser(ctx, who) })).statusCode, 404, `user ${who} cannot read group ${group}'s log`)
  }

  // Filters and keyset pagination work on a group's log as on the instance's.
  const first = await ctx.app.inject({ url: `/api/v4/groups/${OPENSOURCE}/audit_events?per_page=3`, headers: await asUser(ctx, BOB) })
  const cursor = Number(first.headers['x-next-before-id'])
  t.same((first.json() as Event[]).map((e) => e.id), opensource.slice(0, 3).map((e) => e.id))
  t.same((await log(OPENSOURCE, BOB, `per_page=3&before_id=${cursor}`)).map((e) => e.id), opensource.slice(3, 6).map((e) => e.id), 'the next page continues below the cursor')
  t.same((await log(OPENSOURCE, BOB, 'action=token.created')).map((e) => e.target.id).sort(), [oss.id, broad.id, legacy.id, soon.id, copy.id].map(String).sort())
  t.ok(opensource.every((e, i) => i === 0 || opensource[i - 1].id > e.id), 'newest first')
  t.equal(new Set(opensource.map((e) => e.id)).size, opensource.length, 'each event once, however many of the group\'s namespaces it concerns')
})
