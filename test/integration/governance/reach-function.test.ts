// A group's reach comes from one PL/pgSQL function, fgpat_tokens_reaching (migration 0018), whose
// plan PostgreSQL keeps across requests: the group's list, summary, legacy report and revoke check
// call it instead of each planning the same union inline. The function says for each token whether
// it reaches through the "direct" namespaces (the group and below) or only the inherited ones.
import { sql } from 'kysely'
import t from 'tap'
import * as repo from '../../../src/modules/inventory/repository.js'
import { summarizeInventory } from '../../../src/modules/inventory/summary.js'
import { PRESENTED_FIELDS } from '../../../src/modules/tokens/present.js'
import { build } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, BOB, inDays, OPENSOURCE, PLATFORM, seedDirectory, WEBSITE } from '../../helpers/fixtures.js'
import { recordingDb } from '../../helpers/statements.js'
import { createToken, readCodeOn } from '../../helpers/tokens.js'

const onGroups = (...ids: number[]) => ({ granular_scopes: [{ access: 'selected_memberships', group_ids: ids, permissions: ['read_code'] }] })

t.test('fgpat_tokens_reaching: each token once, direct when it reaches through the direct namespaces', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const onAcme = await createToken(ctx, ALICE, onGroups(ACME))
  const onPlatform = await createToken(ctx, ALICE, onGroups(PLATFORM))
  const onApi = await createToken(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  const onBoth = await createToken(ctx, ALICE, onGroups(ACME, PLATFORM))
  const onWebsite = await createToken(ctx, ALICE, { granular_scopes: readCodeOn([WEBSITE]) })
  const alicesBroad = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] }) // member of acme and acme/platform/api
  const bobsLegacy = await createToken(ctx, BOB, { granular_scopes: undefined, scopes: ['read_api'] }) // member of acme/platform and opensource
  const bobsSelected = await createToken(ctx, BOB, onGroups(OPENSOURCE)) // Bob is a member of acme/platform, but this token is not broad

  const reaching = async (direct: number[], inherited: number[]) => {
    const { rows } = await sql<{ token_id: number; direct: boolean }>`select token_id, direct from fgpat_tokens_reaching(${direct}::bigint[], ${inherited}::bigint[])`.execute(ctx.app.db)
    t.equal(new Set(rows.map((r) => r.token_id)).size, rows.length, 'each token once')
    return Object.fromEntries(rows.map((r) => [r.token_id, r.direct]))
  }
  // acme/platform's reach: itself and acme/platform/api direct, acme above it inherited.
  const { rows: below } = await sql<{ id: number }>`select id from namespaces where traversal_ids @> array[${PLATFORM}]::bigint[]`.execute(ctx.app.db)
  t.same(await reaching(below.map((r) => r.id), [ACME]), {
    [onAcme.id]: false, [onPlatform.id]: true, [onApi.id]: true, [onBoth.id]: true, [alicesBroad.id]: true, [bobsLegacy.id]: true,
  }, 'scopes on the group or below: direct; above only: inherited; broad tokens of members anywhere on the path')
  t.notOk(Object.hasOwn(await reaching(below.map((r) => r.id), [ACME]), bobsSelected.id), 'a member\'s selected token elsewhere does not reach')
  t.notOk(Object.hasOwn(await reaching(below.map((r) => r.id), [ACME]), onWebsite.id), 'nor a token scoped on a sibling project')
  t.same(await reaching([], []), {}, 'no namespaces, no tokens')
  t.same(await reaching([999_999], []), {}, 'an unknown namespace reaches nothing')
})

t.test('the group inventory\'s statements call the function and plan no reach of their own', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const onPlatform = await createToken(ctx, ALICE, onGroups(PLATFORM))
  const onAcme = await createToken(ctx, ALICE, onGroups(ACME))
  const { db: logged, statements } = recordingDb(t, ctx)
  const today = new Date().toISOString().slice(0, 10)

  const page = await repo.listInventory(logged, { groupId: PLATFORM }, today, 'created_desc', 1, 20)
  t.same(page.rows.map((r) => [r.id, r.reaches_directly]).sort(), [[onPlatform.id, true], [onAcme.id, false]].sort(), 'the page\'s reach column is the function\'s direct flag')
  t.equal(page.total, 2)
  t.notMatch(statements[0], /\.\*|token_digest|expiry_notice/, 'the page reads only the columns it shows: no digest, no notice times')
  t.same(Object.keys(page.rows[0]).sort(), [...PRESENTED_FIELDS, 'reaches_directly', 'owner_kind', 'matching'].sort(), 'the presented fields, the reach, the owner\'s kind and the count')
  const summary = await summarizeInventory(logged, { groupId: PLATFORM }, today, today, today)
  t.equal(Number(summary.total), 2, 'the summary counts the same tokens')
  t.same([...await repo.directlyReaching(logged, PLATFORM, [onPlatform.id, onAcme.id])], [onPlatform.id], 'the revoke check: direct reach only')
  t.ok(statements.length >= 3)
  for (const s of statements) {
    t.match(s, /fgpat_group_reaching\(/, 'every statement reads the reach from the group\'s function')
    t.notMatch(s, /traversal_ids/, 'and plans no lookup of the group\'s namespaces (migration 0021)')
    t.notMatch(s, /\bunion\b/i, 'and builds no union of its own')
    t.notMatch(s, /memberships/, 'nor reads memberships itself')
  }
})

t.test('fgpat_legacy_reaching: the general reach\'s live legacy tokens, read from the members alone', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await createToken(ctx, ALICE, onGroups(PLATFORM))
  await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  const legacy = (user: number, expires_at: string, scopes = ['api']) => createToken(ctx, user, { granular_scopes: undefined, scopes, expires_at })
  const alices = await legacy(ALICE, inDays(100)) // member of acme and acme/platform/api
  const bobs = await legacy(BOB, inDays(300), ['read_api']) // member of acme/platform and opensource
  const expired = await legacy(BOB, inDays(30))
  await sql`update personal_access_tokens set expires_at = ${inDays(0)} where id = ${expired.id}`.execute(ctx.app.db)
  const revoked = await legacy(ALICE, inDays(100))
  await sql`update personal_access_tokens set revoked_at = now() where id = ${revoked.id}`.execute(ctx.app.db)

  const today = inDays(0)
  for (const group of [ACME, PLATFORM, API_PROJECT, OPENSOURCE, WEBSITE]) {
    const { rows } = await sql<{ general: string[]; legacy: string[] }>`
      select array(select r.token_id from fgpat_tokens_reaching(${repo.groupNamespaces(group)}) r join personal_access_tokens p on p.id = r.token_id
          where p.kind = 'legacy' and p.revoked_at is null and (p.expires_at is null or p.expires_at > ${today}::date) order by 1)::text[] as general,
        array(select r.id from fgpat_legacy_reaching(${repo.groupNamespaces(group)}, ${today}::date) r(id) order by 1)::text[] as legacy`.execute(ctx.app.db)
    t.same(rows[0].legacy, rows[0].general, `namespace ${group}: ${rows[0].general.length} live legacy tokens`)
  }
  const onPlatformGroup = await sql<{ id: string }>`select r.id from fgpat_legacy_reaching(${repo.groupNamespaces(PLATFORM)}, ${today}::date) r(id) order by 1`.execute(ctx.app.db)
  t.same(onPlatformGroup.rows.map((r) => Number(r.id)).sort(), [alices.id, bobs.id].sort(), 'acme/platform: alice\'s (a member above it) and bob\'s; not the expired nor the revoked one')
})

t.test('fgpat_group_reaching: the general reach over the group\'s namespaces, from the group\'s id alone', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await createToken(ctx, ALICE, onGroups(ACME))
  await createToken(ctx, ALICE, onGroups(PLATFORM))
  await createToken(ctx, ALICE, { granular_scopes: readCodeOn([API_PROJECT]) })
  await createToken(ctx, ALICE, { granular_scopes: readCodeOn([WEBSITE]) })
  await createToken(ctx, ALICE, { granular_scopes: [{ access: 'all_memberships', permissions: ['read_code'] }] })
  await createToken(ctx, BOB, { granular_scopes: undefined, scopes: ['read_api'] })
  await createToken(ctx, BOB, onGroups(OPENSOURCE))
  for (const group of [ACME, PLATFORM, API_PROJECT, OPENSOURCE, WEBSITE, 999_999]) {
    const { rows } = await sql<{ general: string[]; group: string[] }>`
      select array(select r.token_id || ':' || r.direct from fgpat_tokens_reaching(${repo.groupNamespaces(group)}) r order by 1)::text[] as general,
             array(select r.token_id || ':' || r.direct from fgpat_group_reaching(${group}::bigint) r order by 1)::text[] as group`.execute(ctx.app.db)
    t.same(rows[0].group, rows[0].general, `namespace ${group}: ${rows[0].general.length} tokens, the same direct flags`)
    if (group === PLATFORM) t.equal(rows[0].group.length, 5, 'acme/platform: the tokens on acme, on it and on its project, alice\'s broad one and bob\'s legacy one')
  }
})

t.test('fgpat_namespace_with_level: the namespace and the user\'s highest live level on it or above it', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const db = ctx.app.db
  const level = async (ns: number, user: number | null, today = inDays(0)) => {
    const { rows } = await sql<{ id: number; kind: string; full_path: string; traversal_ids: number[]; level: number | null }>`
      select * from fgpat_namespace_with_level(${ns}::bigint, ${user}::bigint, ${today}::date)`.execute(db)
    return rows
  }
  const [platform] = await level(PLATFORM, ALICE)
  const { rows: [expected] } = await sql<{ id: number; kind: string; parent_id: number | null; full_path: string; traversal_ids: number[] }>`
    select id, kind, parent_id, full_path, traversal_ids from namespaces where id = ${PLATFORM}`.execute(db)
  const { level: _, ...ns } = platform
  t.same(ns, expected, 'the namespace\'s own fields')
  const { rows: [highest] } = await sql<{ level: number | null }>`
    select max(m.access_level)::int as level from memberships m where m.user_id = ${ALICE} and m.namespace_id = any(${expected.traversal_ids}::bigint[])`.execute(db)
  t.ok(highest.level !== null, 'alice is a member on acme/platform\'s path')
  t.equal(platform.level, highest.level, 'the highest level on the namespace\'s path')
  t.equal((await level(PLATFORM, null))[0].level, null, 'no user: no level')
  t.same(await level(999_999, ALICE), [], 'an unknown namespace: no row')
  // An expired membership no longer counts: expiring today is expired today.
  await sql`update memberships set expires_at = ${inDays(0)}::date where user_id = ${ALICE} and namespace_id = any(${expected.traversal_ids}::bigint[])`.execute(db)
  t.equal((await level(PLATFORM, ALICE))[0].level, null, 'memberships ending today: none left')
  t.equal((await level(PLATFORM, ALICE, inDays(-1)))[0].level, highest.level, 'the day before, they still counted')
})
