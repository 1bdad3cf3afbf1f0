// The hot path's PostgreSQL loads (cache/loaders.ts): the entries they build, and how many statements
// a cold entry costs. A cold owner was three statements (user, memberships, personal namespace, each
// on a pool connection of its own); now it is one, whatever the batch, and the entries are the same.
import t from 'tap'
import { loadNamespaces, loadOwners, loadTokens } from '../../../src/cache/loaders.js'
import { digestToken } from '../../../src/domain/token-format.js'
import { build, TEST_PEPPER } from '../../helpers/app.js'
import { ACME, ALICE, ALICE_NS, API_PROJECT, BOB, BOB_NS, CAROL, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { recordingDb } from '../../helpers/statements.js'
import { createToken } from '../../helpers/tokens.js'

t.test('owners: one statement for any batch; memberships with their expiry, the personal namespace, the version', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const db = ctx.app.db
  await db.updateTable('memberships').set({ expires_at: '2031-02-28' }).where('user_id', '=', ALICE).where('namespace_id', '=', ACME).execute()
  await db.updateTable('users').set({ version: 7 }).where('id', '=', BOB).execute()
  const { db: recorded, statements } = recordingDb(t, ctx)

  const owners = await loadOwners(recorded, [ALICE, BOB, CAROL, 999_999])
  t.equal(statements.length, 1, 'one statement for four owners')
  const byId = new Map(owners.map((o) => [o.id, o]))
  t.same([...byId.keys()].sort(), [ALICE, BOB, CAROL], 'an unknown user has no entry')
  t.strictSame(byId.get(ALICE), {
    id: ALICE, state: 'active', isAdmin: false, personalNamespaceId: ALICE_NS,
    memberships: [[ACME, 30, '2031-02-28'], [API_PROJECT, 40, null], [OPENSOURCE, 20, null]],
    version: byId.get(ALICE)?.version,
  }, "Alice: memberships by namespace id, a membership's expiry as YYYY-MM-DD")
  t.equal(typeof byId.get(ALICE)?.version, 'number')
  t.strictSame(byId.get(BOB)?.memberships, [[PLATFORM, 20, null], [OPENSOURCE, 50, null]])
  t.equal(byId.get(BOB)?.personalNamespaceId, BOB_NS)
  t.equal(byId.get(BOB)?.version, 7, "the user's version")
  t.strictSame(byId.get(CAROL)?.memberships, [], 'no memberships: an empty list')
  t.equal(byId.get(CAROL)?.personalNamespaceId, null, 'no personal namespace: null')

  statements.length = 0
  t.strictSame(await loadOwners(recorded, []), [], 'nothing asked: nothing read')
  t.equal(statements.length, 0)
})

t.test('tokens: one statement by digest; revoked and rotated away from the revocation columns', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const db = ctx.app.db
  const a = await createToken(ctx, ALICE)
  const b = await createToken(ctx, ALICE)
  const c = await createToken(ctx, BOB)
  await db.updateTable('personal_access_tokens').set({ revoked_at: new Date(), revoke_reason: 'rotated' }).where('id', '=', b.id).execute()
  await db.updateTable('personal_access_tokens').set({ revoked_at: new Date(), revoke_reason: 'revoked' }).where('id', '=', c.id).execute()
  const digest = (secret: string) => digestToken(TEST_PEPPER, secret)
  const { db: recorded, statements } = recordingDb(t, ctx)

  const unknown = Buffer.alloc(32, 7)
  const found = await loadTokens(recorded, [digest(a.token!), digest(b.token!), digest(c.token!), unknown])
  t.equal(statements.length, 1, 'one statement for four digests')
  t.equal(found.size, 3, 'an unknown digest has no entry')
  const entry = (secret: string) => found.get(digest(secret).toString('hex'))
  t.ok(entry(a.token!)?.digest.equals(digest(a.token!)), 'keyed by hex, with the digest as a Buffer')
  const live = entry(a.token!)?.entry
  t.match(live, { id: a.id, userId: ALICE, kind: 'fine_grained', revoked: false, legacyScopes: [] })
  t.same(live?.scopes.map((s) => s.access), ['selected_memberships'], 'the granted scopes')
  t.notOk(live && 'rotatedAway' in live, 'a live token is not rotated away')
  t.notOk(live && 'removedFromGroups' in live, 'no removals: no list')
  t.match(entry(b.token!)?.entry, { revoked: true, rotatedAway: true }, 'revoked by rotation')
  t.match(entry(c.token!)?.entry, { revoked: true })
  t.notOk('rotatedAway' in (entry(c.token!)?.entry ?? {}), 'revoked otherwise: not rotated away')
})

t.test('namespaces: one statement for any batch', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { db: recorded, statements } = recordingDb(t, ctx)
  const found = await loadNamespaces(recorded, [ACME, API_PROJECT, 999_999])
  t.equal(statements.length, 1)
  t.match(found.find((n) => n.id === API_PROJECT), { kind: 'project', traversalIds: [ACME, PLATFORM, API_PROJECT] })
  t.equal(found.length, 2, 'an unknown id has no entry')
})
