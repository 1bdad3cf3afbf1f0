// What the API shows of tokens besides their rows comes from one PL/pgSQL function,
// fgpat_token_facts (migration 0019), whose plan PostgreSQL keeps across requests. It is also the one
// place that decides which group access removals a viewing group may see: those on its own path
// (itself, its ancestors, its subgroups), never another group's.
import { sql } from 'kysely'
import t from 'tap'
import { tokenFacts } from '../../../src/modules/tokens/facts.js'
import { presentTokens } from '../../../src/modules/tokens/present.js'
import { build } from '../../helpers/app.js'
import { ACME, ADMIN, ALICE, INFRA, OPENSOURCE, PLATFORM, seedDirectory } from '../../helpers/fixtures.js'
import { recordingDb } from '../../helpers/statements.js'
import { createToken } from '../../helpers/tokens.js'

const onGroups = (...ids: number[]) => ({ granular_scopes: [{ access: 'selected_memberships', group_ids: ids, permissions: ['read_code'] }] })

t.test('fgpat_token_facts: scopes with kinds, removals as the viewer may see them, each part only when asked', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const token = await createToken(ctx, ALICE, onGroups(ACME, OPENSOURCE))
  const other = await createToken(ctx, ALICE, onGroups(ACME))
  await sql`insert into group_access_removals (token_id, group_id, removed_by, removed_by_user_id, reason, removed_at) values
    (${token.id}, ${OPENSOURCE}, ${`user:${ADMIN}`}, ${ADMIN}, 'not here', now() - interval '2 hours'),
    (${token.id}, ${PLATFORM}, ${`user:${ADMIN}`}, ${ADMIN}, 'not in platform', now() - interval '1 hour')`.execute(ctx.app.db)

  const all = await tokenFacts(ctx.app.db, { scopesOf: [token.id, other.id], removalsOf: [token.id, other.id] })
  t.same(all.scopes.map((s) => [s.token_id, s.namespace_id, s.namespace_kind]), [[token.id, ACME, 'group'], [token.id, OPENSOURCE, 'group'], [other.id, ACME, 'group']],
    'each scope (one per group) with its namespace\'s kind, in id order')
  t.same(all.removals.map((r) => [r.group_id, r.full_path, r.username, r.reason]), [[OPENSOURCE, 'opensource', 'root', 'not here'], [PLATFORM, 'acme/platform', 'root', 'not in platform']],
    'no viewing group: every removal, oldest first, with who and why')
  t.type(all.removals[0].removed_at, 'string', 'timestamps arrive as JSON text')

  const seen = async (group: number, path: number[]) => (await tokenFacts(ctx.app.db, { removalsOf: [token.id], view: { group: { id: group, traversal_ids: path } } })).removals.map((r) => r.group_id)
  t.same(await seen(ACME, [ACME]), [PLATFORM], 'acme sees its subgroup\'s removal, not opensource\'s')
  t.same(await seen(PLATFORM, [ACME, PLATFORM]), [PLATFORM], 'acme/platform sees its own')
  t.same(await seen(INFRA, [ACME, PLATFORM, INFRA]), [PLATFORM], 'acme/platform/infra sees its parent\'s')
  t.same(await seen(OPENSOURCE, [OPENSOURCE]), [OPENSOURCE], 'opensource sees only its own')

  const onlyRemovals = await tokenFacts(ctx.app.db, { removalsOf: [token.id] })
  t.same(onlyRemovals.scopes, [], 'scopes not asked, none read')
  t.same([onlyRemovals.successors, onlyRemovals.replaced], [[], []], 'nor conversions')
})

t.test('a page of tokens is presented with one statement: one call of the function', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  for (let i = 0; i < 3; i++) await createToken(ctx, ALICE, onGroups(ACME))
  const rows = await ctx.app.db.selectFrom('personal_access_tokens').selectAll().execute()
  const { db, statements } = recordingDb(t, ctx)
  const presented = await presentTokens(db, rows, new Date())
  t.equal(presented.length, 3)
  t.ok(presented.every((p) => p.granular_scopes.length === 1), 'each with its scope')
  t.equal(statements.length, 1, 'one statement for the page')
  t.match(statements[0], /fgpat_token_facts\(/, 'the function\'s')
})
