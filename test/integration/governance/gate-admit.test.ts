// A new token asks the policy gate two things before its transaction: the expiry policy allows (or a
// refusal) and the groups whose owners must approve it. Both rest on the token's reach; `admit`
// answers both from one reach, where enforce + approvalGroups read it twice (bench/README.md, write cost).
import t from 'tap'
import { createPolicyGate } from '../../../src/modules/policies/gate.js'
import { build } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, BOB, CLI_PROJECT, inDays, OPENSOURCE, seedDirectory } from '../../helpers/fixtures.js'
import { recordingDb } from '../../helpers/statements.js'
import { putGroup } from './helpers.js'

const rootLookups = (statements: string[]) => statements.filter((s) => s.includes('root_id')).length

t.test('admit: the expiry and the approval groups of enforce and approvalGroups, from one reach', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  t.equal((await putGroup(ctx, OPENSOURCE, { require_approval: true, max_lifetime_days: 30 }, BOB)).statusCode, 200)
  const { db, statements } = recordingDb(t, ctx)
  const gate = createPolicyGate({ db, cache: ctx.app.policyCache, clock: ctx.app.clock })
  const token = {
    ownerId: ALICE, kind: 'fine_grained' as const, legacyScopes: [],
    stored: [{ access: 'selected_memberships' as const, namespace_id: CLI_PROJECT, permissions: ['read_code'] }, { access: 'selected_memberships' as const, namespace_id: API_PROJECT, permissions: ['read_code'] }],
  }
  const expiry = { requested: undefined, useDefault: true }

  const separate = { expiresAt: await gate.enforce(token, expiry), approvalGroups: await gate.approvalGroups(token) }
  t.equal(rootLookups(statements), 2, 'enforce and approvalGroups each read the reach')
  statements.length = 0
  const admitted = await gate.admit(token, expiry)
  t.equal(rootLookups(statements), 1, 'admit reads it once')
  t.same(admitted, separate, 'with the same answers')
  t.same(admitted.approvalGroups, [{ groupId: OPENSOURCE, fullPath: 'opensource' }], 'the group requiring approval')
  t.equal(admitted.expiresAt, inDays(30), 'the group\'s maximum lifetime as the default expiry')

  // A refusal is the same refusal.
  const tooLong = { requested: inDays(60), useDefault: true }
  const refusal = await gate.enforce(token, tooLong).catch((err: { code?: string; message: string }) => err)
  t.match(await gate.admit(token, tooLong).catch((err: unknown) => err), { code: (refusal as { code?: string }).code, message: (refusal as Error).message })
  t.same((await gate.admit({ ...token, stored: [{ access: 'selected_memberships', namespace_id: ACME, permissions: ['read_code'] }] }, expiry)).approvalGroups, [], 'no approval outside such groups')
})
