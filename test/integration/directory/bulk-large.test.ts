// An initial sync of realistic size: 5,000 users, a 5,000-namespace tree sent children-first, and
// 5,000 memberships, in one request that must finish in seconds.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { auditRows, directoryClient, ok, tableCounts, treeInconsistencies } from './client.js'

const N = 5000
// 50 top-level groups × 9 subgroups × 10 projects = 50 + 450 + 4,500 = 5,000 namespaces
const ROOTS = 50
const SUBGROUPS = 9
const PROJECTS = 10

function directory() {
  const users = Array.from({ length: N }, (_, i) => ({ id: i + 1, username: `user${i + 1}`, name: `User ${i + 1}`, email: `user${i + 1}@example.com` }))
  const namespaces: { id: number; kind: string; path: string; parent_id?: number }[] = []
  let next = 100_001 // each root takes 100 ids: itself, then per subgroup the subgroup and its 10 projects
  for (let r = 0; r < ROOTS; r++) {
    const root = next++
    namespaces.push({ id: root, kind: 'group', path: `org${r}` })
    for (let s = 0; s < SUBGROUPS; s++) {
      const sub = next++
      namespaces.push({ id: sub, kind: 'group', path: `team${s}`, parent_id: root })
      for (let p = 0; p < PROJECTS; p++) namespaces.push({ id: next++, kind: 'project', path: `repo${p}`, parent_id: sub })
    }
  }
  const access = [10, 15, 20, 30, 40, 50]
  const memberships = users.map((u, i) => ({ user_id: u.id, namespace_id: namespaces[(i * 7) % N].id, access_level: access[i % access.length] }))
  return { users, namespaces: namespaces.reverse(), memberships } // children first: the service must reorder
}

t.test('a bulk of 5,000 users, 5,000 namespaces and 5,000 memberships completes in seconds', async (t) => {
  const ctx = await build(t)
  const dir = await directoryClient(ctx)
  const payload = directory()
  t.equal(payload.namespaces.length, N)

  const started = performance.now()
  const res = await dir.bulk(payload)
  const elapsed = Math.round(performance.now() - started)
  t.comment(`bulk of ${N} users + ${N} namespaces + ${N} memberships: ${elapsed} ms`)
  t.same(ok(res), { users: N, namespaces: N, memberships: N })
  // generous against a slow CI machine; on a laptop it takes well under two seconds
  t.ok(elapsed < 20_000, `finished in ${elapsed} ms`)

  t.same(await tableCounts(ctx), { users: N, namespaces: N, memberships: N, audit_events: 1 })
  t.same(await treeInconsistencies(ctx), [], 'every namespace agrees with its parent')
  const last = await ctx.app.db.selectFrom('namespaces').select(['full_path', 'traversal_ids']).where('id', '=', 105_000).executeTakeFirstOrThrow()
  t.same(last, { full_path: 'org49/team8/repo9', traversal_ids: [104_901, 104_990, 105_000] })
  const member = await ctx.app.db.selectFrom('memberships').selectAll().where('user_id', '=', 4999).executeTakeFirstOrThrow()
  t.match(member, { namespace_id: 100_001 + ((4998 * 7) % N), access_level: 10 }) // ids follow creation order
  t.match((await auditRows(ctx))[0], { action: 'directory.bulk_loaded', details: { users: N, namespaces: N, memberships: N } })

  // the same load again (a periodic full sync) changes nothing and is no slower
  const versionsBefore = await ctx.app.db.selectFrom('users').select((eb) => eb.fn.sum<string>('version').as('v')).executeTakeFirstOrThrow()
  const again = performance.now()
  t.same(ok(await dir.bulk(payload)), { users: N, namespaces: N, memberships: N })
  t.comment(`the same bulk again: ${Math.round(performance.now() - again)} ms`)
  const versionsAfter = await ctx.app.db.selectFrom('users').select((eb) => eb.fn.sum<string>('version').as('v')).executeTakeFirstOrThrow()
  t.equal(versionsAfter.v, versionsBefore.v, 'an unchanged sync bumps no user version')
})
