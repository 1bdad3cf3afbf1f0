// A token that reaches a group through a group above it (scoped on acme, or a broad token of a
// member of acme) reaches every subgroup too: the subgroup's owners see it in their inventory and
// their audit log, and may remove their group's access to it, but not revoke it (that would end its
// access above, which is not theirs). A sibling subgroup's tokens are none of their business.
import t from 'tap'
import type { TestContext } from '../../helpers/app.js'
import { build } from '../../helpers/app.js'
import { authorizer } from '../../helpers/authorize.js'
import { ACME, ADMIN, ALICE, API_PROJECT, asUser, CAROL, CLI_PROJECT, INFRA, PLATFORM, seedDirectory, TERRAFORM, WEBSITE } from '../../helpers/fixtures.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'

const DAVE = 5 // owner of acme/other, developer of acme
const OTHER = 106 // acme/other, a sibling of acme/platform
const DOCS = 107 // acme/other/docs

const project = (id: number) => ({ type: 'project', id })
const onGroups = (...ids: number[]) => ({ granular_scopes: [{ access: 'selected_memberships', group_ids: ids, permissions: ['read_code'] }] })
const manage = (group: number, token: number, action = '') => `/api/v4/groups/${group}/manage/personal_access_tokens/${token}${action}`

interface Row { id: number; reach?: string }
interface Event { id: number; action: string; target: { id: string } }

/** The standard directory; Carol owns acme/platform; Dave owns the sibling acme/other and is a developer of acme. */
async function setUp(t: Parameters<typeof build>[0]): Promise<TestContext> {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const headers = { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }
  for (const [url, payload] of [
    [`/users/${DAVE}`, { username: 'dave', name: 'Dave', email: 'dave@example.com' }],
    [`/namespaces/${OTHER}`, { kind: 'group', path: 'other', parent_id: ACME }],
    [`/namespaces/${DOCS}`, { kind: 'project', path: 'docs', parent_id: OTHER }],
    [`/namespaces/${PLATFORM}/members/${CAROL}`, { access_level: 50 }],
    [`/namespaces/${OTHER}/members/${DAVE}`, { access_level: 50 }],
    [`/namespaces/${ACME}/members/${DAVE}`, { access_level: 30 }],
  ] as const) {
    const res = await ctx.app.inject({ method: 'PUT', url: `/api/v4/directory${url}`, headers, payload })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  }
  return ctx
}

async function inventory(ctx: TestContext, who: number, group: number): Promise<Map<number, string | undefined>> {
  const res = await ctx.app.inject({ url: `/api/v4/groups/${group}/manage/personal_access_tokens?per_page=100`, headers: await asUser(ctx, who) })
  if (res.statusCode !== 200) throw new Error(res.body)
  return new Map((res.json() as Row[]).map((r) => [r.id, r.reach]))
}

async function log(ctx: TestContext, who: number, group: number, query = 'per_page=100'): Promise<Event[]> {
  const res = await ctx.app.inject({ url: `/api/v4/groups/${group}/audit_events?${query}`, headers: await asUser(ctx, who) })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json() as Event[]
}
const has = (events: Event[], action: string, token: { id: number }) => events.some((e) => e.action === action && e.target.id === String(token.id))

t.test('a subgroup\'s inventory: tokens scoped on it, below it or above it, and broad tokens of members there; never a sibling\'s', async (t) => {
  const ctx = await setUp(t)
  const onAcme = await createToken(ctx, ALICE, onGroups(ACME))
  const onPlatform = await createToken(ctx, ALICE, onGroups(PLATFORM))
  const onOther = await createToken(ctx, ALICE, onGroups(OTHER))
  const onWebsite = await createToken(ctx, ALICE, { granular_scopes: readCodeOn([WEBSITE]) }) // a project of acme: not below platform
  const alicesBroad = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] }) // Alice is a member of acme/platform/api
  const davesLegacy = await createToken(ctx, DAVE, { granular_scopes: undefined, scopes: ['read_api'] }) // Dave: acme and acme/other

  const platform = await inventory(ctx, CAROL, PLATFORM)
  t.same([...platform.keys()].sort((a, b) => a - b), [onAcme.id, onPlatform.id, alicesBroad.id, davesLegacy.id], 'acme/platform: the tokens that reach it')
  t.same(Object.fromEntries(platform), {
    [onAcme.id]: 'inherited', [onPlatform.id]: 'direct', [alicesBroad.id]: 'direct', [davesLegacy.id]: 'inherited',
  }, 'each row says how')
  t.notOk(platform.has(onOther.id), 'not a token scoped on the sibling acme/other')
  t.notOk(platform.has(onWebsite.id), 'nor one scoped on a project of acme outside acme/platform')

  const other = await inventory(ctx, DAVE, OTHER)
  t.same(Object.fromEntries(other), { [onAcme.id]: 'inherited', [onOther.id]: 'direct', [alicesBroad.id]: 'inherited', [davesLegacy.id]: 'direct' }, 'acme/other, as its owner sees it')
  t.notOk(other.has(onPlatform.id), 'the sibling\'s owner does not see a token scoped on acme/platform')

  const infra = await inventory(ctx, ADMIN, INFRA)
  t.equal(infra.get(onAcme.id), 'inherited', 'two levels down')
  t.equal(infra.get(onPlatform.id), 'inherited', 'scoped on the parent of acme/platform/infra')

  const acme = await inventory(ctx, ADMIN, ACME)
  t.ok([onAcme.id, onPlatform.id, onOther.id, onWebsite.id].every((id) => acme.get(id) === 'direct'), 'on the top-level group, everything below reaches it directly')
  const admin = await ctx.app.inject({ url: '/api/v4/admin/personal_access_tokens', headers: await asUser(ctx, ADMIN) })
  t.notOk((admin.json() as Row[]).some((r) => 'reach' in r), 'the instance inventory has no group to reach')

  // Summary and CSV share the filter with the list.
  const summary = await ctx.app.inject({ url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens/summary`, headers: await asUser(ctx, CAROL) })
  t.match(summary.json(), { total: 4, by_kind: { fine_grained: 3, legacy: 1 } })
  const csv = await ctx.app.inject({ url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens`, headers: { ...(await asUser(ctx, CAROL)), accept: 'text/csv' } })
  t.same(csv.body.trimEnd().split('\n').slice(1).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b), [...platform.keys()].sort((a, b) => a - b), 'the CSV lists the same tokens')
  const page = await ctx.app.inject({ url: `/api/v4/groups/${PLATFORM}/manage/personal_access_tokens?per_page=1&page=2`, headers: await asUser(ctx, CAROL) })
  t.match(page.headers, { 'x-total': '4', 'x-next-page': '3' }, 'the page total counts inherited tokens too')
})

t.test('an inherited token: the subgroup\'s owner removes its access there, may not revoke it', async (t) => {
  const ctx = await setUp(t)
  const authorize = await authorizer(ctx)
  const onAcme = await createToken(ctx, ALICE, onGroups(ACME))
  const davesLegacy = await createToken(ctx, DAVE, { granular_scopes: undefined, scopes: ['read_api'] })
  const onPlatform = await createToken(ctx, ALICE, onGroups(PLATFORM))
  const revokedBefore = await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.revoked').execute()

  for (const [what, who, token] of [['Carol, a token scoped on acme', CAROL, onAcme], ['Carol, a legacy token of a member of acme', CAROL, davesLegacy], ['an administrator through the subgroup', ADMIN, onAcme]] as const) {
    const res = await ctx.app.inject({ method: 'DELETE', url: manage(PLATFORM, token.id), headers: await asUser(ctx, who) })
    t.equal(res.statusCode, 403, what)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { code: 'group_owner_cannot_revoke_inherited', status: 403 })
    t.match(res.json().detail, `/groups/${PLATFORM}/manage/personal_access_tokens/${token.id}/remove_access`, 'it says what to do instead')
  }
  const rows = await ctx.app.db.selectFrom('personal_access_tokens').select(['id', 'revoked_at']).where('id', 'in', [onAcme.id, davesLegacy.id]).execute()
  t.ok(rows.every((r) => r.revoked_at === null), 'nothing revoked')
  t.same(await ctx.app.db.selectFrom('audit_events').select('id').where('action', '=', 'token.revoked').execute(), revokedBefore, 'nothing recorded')
  t.equal((await ctx.app.inject({ method: 'DELETE', url: manage(OTHER, onPlatform.id), headers: await asUser(ctx, DAVE) })).statusCode, 404, 'the sibling\'s owner: not his token to see')

  const removed = await ctx.app.inject({ method: 'POST', url: manage(PLATFORM, onAcme.id, '/remove_access'), headers: await asUser(ctx, CAROL), payload: { reason: 'not for platform' } })
  t.equal(removed.statusCode, 201, removed.body)
  t.match(removed.json(), { group_id: PLATFORM, full_path: 'acme/platform', reason: 'not for platform' })
  const secret = onAcme.token!
  for (const id of [API_PROJECT, TERRAFORM]) t.equal((await authorize(secret, 'read_code', project(id))).reason, 'access_removed_by_group', `denied in acme/platform (${id})`)
  t.equal((await authorize(secret, 'read_code', project(WEBSITE))).allowed, true, 'still allowed on acme\'s other projects')
  t.equal((await authorize(secret, 'read_code', project(DOCS))).allowed, true, 'and in the sibling subgroup')
  t.equal((await authorize(secret, 'read_code', project(CLI_PROJECT))).reason, 'resource_not_in_scope', 'and nowhere it was not scoped')

  // A token that reaches the subgroup directly keeps today's behaviour; the top-level group's owners revoke the inherited one there.
  t.equal((await ctx.app.inject({ method: 'DELETE', url: manage(PLATFORM, onPlatform.id), headers: await asUser(ctx, CAROL) })).statusCode, 204, 'scoped on acme/platform: revoked')
  t.equal((await ctx.app.inject({ method: 'DELETE', url: manage(ACME, onAcme.id), headers: await asUser(ctx, ADMIN) })).statusCode, 204, 'through acme itself: revoked')
})

t.test('a subgroup\'s audit log shows the events of tokens that reach it through a group above; a sibling\'s log does not', async (t) => {
  const ctx = await setUp(t)
  const alice = await asUser(ctx, ALICE)
  const onAcme = await createToken(ctx, ALICE, onGroups(ACME))
  const onPlatform = await createToken(ctx, ALICE, onGroups(PLATFORM))
  const onOther = await createToken(ctx, ALICE, onGroups(OTHER))
  const both = await createToken(ctx, ALICE, onGroups(ACME, INFRA)) // tagged on infra itself and reached on acme
  const davesLegacy = await createToken(ctx, DAVE, { granular_scopes: undefined, scopes: ['read_api'] })
  const leaving = await createToken(ctx, ALICE, onGroups(ACME))
  const edit = await ctx.app.inject({ method: 'PATCH', url: `/api/v4/personal_access_tokens/${leaving.id}`, headers: alice, payload: { granular_scopes: readCodeOn([CLI_PROJECT]) } })
  t.equal(edit.statusCode, 200, 'a token scoped on acme moves to opensource')
  t.equal((await ctx.app.inject({ method: 'POST', url: manage(PLATFORM, onAcme.id, '/remove_access'), headers: await asUser(ctx, CAROL), payload: {} })).statusCode, 201)
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${onAcme.id}`, headers: alice })).statusCode, 204)

  const platform = await log(ctx, CAROL, PLATFORM)
  for (const [what, action, token] of [
    ['created, scoped on acme', 'token.created', onAcme], ['her removal of its access', 'token.group_access_removed', onAcme], ['its revocation by its owner', 'token.revoked', onAcme],
    ['a legacy token of a member of acme', 'token.created', davesLegacy], ['scoped on acme/platform itself', 'token.created', onPlatform],
    ['the edit that took a token scoped on acme out', 'token.updated', leaving],
  ] as const) t.ok(has(platform, action, token), `acme/platform sees: ${what}`)
  t.notOk(platform.some((e) => e.target.id === String(onOther.id)), 'acme/platform never sees a token scoped on acme/other')

  const other = await log(ctx, DAVE, OTHER)
  t.ok(has(other, 'token.created', onAcme), 'acme/other sees the token scoped on acme')
  t.notOk(has(other, 'token.group_access_removed', onAcme), 'but not acme/platform\'s removal of its access')
  t.ok(has(other, 'token.created', onOther), 'and its own')
  t.notOk(other.some((e) => e.target.id === String(onPlatform.id)), 'acme/other never sees a token scoped on acme/platform')

  const infra = await log(ctx, ADMIN, INFRA)
  for (const token of [onAcme, onPlatform, both]) t.ok(has(infra, 'token.created', token), `acme/platform/infra sees token ${token.id} (two groups above)`)
  t.equal(infra.filter((e) => e.target.id === String(both.id)).length, 1, 'an event tagged on the group and on a group above shows once')
  t.notOk(infra.some((e) => e.target.id === String(onOther.id)))

  // Keyset pages over the merged ranges give the same log, newest first, each event once.
  const paged: Event[] = []
  let cursor = ''
  for (;;) {
    const res = await ctx.app.inject({ url: `/api/v4/groups/${INFRA}/audit_events?per_page=2${cursor}`, headers: await asUser(ctx, ADMIN) })
    paged.push(...(res.json() as Event[]))
    if (!res.headers['x-next-before-id']) break
    cursor = `&before_id=${res.headers['x-next-before-id']}`
  }
  t.same(paged.map((e) => e.id), infra.map((e) => e.id))
  t.ok(infra.every((e, i) => i === 0 || infra[i - 1].id > e.id), 'newest first')
  t.same((await log(ctx, CAROL, PLATFORM, 'action=token.created')).map((e) => Number(e.target.id)).sort((a, b) => a - b),
    [onAcme.id, onPlatform.id, both.id, davesLegacy.id, leaving.id].sort((a, b) => a - b), 'filters apply to the inherited events too')
})
