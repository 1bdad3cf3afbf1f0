import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, asUser, BOB, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { ok, putGroup, putInstance } from './helpers.js'

interface Event { id: number; action: string; actor: { type: string; id: string }; namespace_id: number | null; target: { type: string; id: string } }

t.test('audit log: admins see everything, owners their group; filters and keyset pagination', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await createToken(ctx, ALICE)
  await createToken(ctx, ALICE)
  await ok(putInstance(ctx, { max_lifetime_days: 100 }))
  await ok(putGroup(ctx, OPENSOURCE, { require_expiry: true }, BOB))
  await ok(putGroup(ctx, ACME, { require_expiry: true }))

  const get = async (url: string, who = ADMIN) => ctx.app.inject({ url, headers: await asUser(ctx, who) })
  const all = await get('/api/v4/audit_events?per_page=100')
  t.equal(all.statusCode, 200)
  const events = all.json() as Event[]
  t.ok(events.length >= 5)
  t.ok(events.every((e, i) => i === 0 || events[i - 1].id > e.id), 'newest first')
  t.equal((await get('/api/v4/audit_events', ALICE)).statusCode, 403)

  const tokens = (await get('/api/v4/audit_events?action=token.created')).json() as Event[]
  t.equal(tokens.length, 2)
  t.ok(tokens.every((e) => e.actor.type === 'user' && e.actor.id === String(ALICE)))
  t.equal(((await get('/api/v4/audit_events?action=policy.')).json() as Event[]).length, 3, 'a prefix ending in a dot')
  t.equal(((await get(`/api/v4/audit_events?actor_type=user&actor_id=${BOB}`)).json() as Event[]).length, 1)
  t.equal(((await get('/api/v4/audit_events?target_type=instance_settings')).json() as Event[]).length, 1)
  t.equal(((await get('/api/v4/audit_events?created_before=2000-01-01')).json() as Event[]).length, 0)
  t.equal((await get('/api/v4/audit_events?created_after=yesterday')).statusCode, 400)

  const first = await get('/api/v4/audit_events?per_page=2')
  t.equal((first.json() as Event[]).length, 2)
  const next = first.headers['x-next-before-id'] as string
  t.ok(next)
  t.match(first.headers.link, /before_id=/)
  const second = (await get(`/api/v4/audit_events?per_page=2&before_id=${next}`)).json() as Event[]
  t.ok(second.every((e) => e.id < Number(next)), 'the next page continues below the cursor')

  const oss = await get(`/api/v4/groups/${OPENSOURCE}/audit_events`, BOB)
  t.equal(oss.statusCode, 200)
  t.same((oss.json() as Event[]).map((e) => e.action), ['policy.group_updated'])
  t.equal((await get(`/api/v4/groups/${ACME}/audit_events`, BOB)).statusCode, 404)
  t.equal((await get(`/api/v4/groups/${OPENSOURCE}/audit_events`, ALICE)).statusCode, 404)
})
