// A membership's PUT and DELETE each write in one statement (migration 0024's functions) instead of
// a transaction of five to seven round trips; memberships.test.ts checks what they write.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, CAROL, seedDirectory } from '../../helpers/fixtures.js'
import { recordingAppDb, transactionStatements, writingStatements } from '../../helpers/statements.js'
import { auditRows, directoryClient, userVersion } from './client.js'

const writes = (statements: string[]) => writingStatements(statements, ['fgpat_put_membership', 'fgpat_remove_membership'])

t.test('a membership put and removed: one statement each, nothing written for a missing user or namespace', async (t) => {
  const recording = recordingAppDb()
  const ctx = await build(t, { db: recording.make })
  await seedDirectory(ctx)
  const dir = await directoryClient(ctx)
  const v0 = await userVersion(ctx, CAROL)
  const sent = async (call: () => Promise<{ statusCode: number; body: string }>, status: number) => {
    recording.statements.length = 0
    const res = await call()
    t.equal(res.statusCode, status, res.body)
    const statements = [...recording.statements]
    t.same(transactionStatements(statements), [], 'no transaction around it')
    return writes(statements)
  }

  let w = await sent(() => dir.putMember(ACME, CAROL, { access_level: 30 }), 200)
  t.equal(w.length, 1, 'a put: one writing statement')
  t.match(w[0], /fgpat_put_membership\(/)
  t.equal(await userVersion(ctx, CAROL), v0 + 1, 'a new membership raises the version')

  w = await sent(() => dir.putMember(ACME, CAROL, { access_level: 30 }), 200)
  t.equal(w.length, 1, 'the same put again: one statement')
  t.equal(await userVersion(ctx, CAROL), v0 + 1, 'an identical put leaves the version')
  t.equal((await auditRows(ctx, 'directory.membership_upserted')).length, 2, 'and is audited')

  const events = (await auditRows(ctx, 'directory.membership_upserted')).length
  await sent(() => dir.putMember(ACME, 999_999, { access_level: 30 }), 404)
  await sent(() => dir.putMember(999_999, CAROL, { access_level: 30 }), 404)
  t.equal((await auditRows(ctx, 'directory.membership_upserted')).length, events, 'a missing user or namespace: no event')

  w = await sent(() => dir.deleteMember(ACME, CAROL), 204)
  t.equal(w.length, 1, 'a removal: one writing statement')
  t.match(w[0], /fgpat_remove_membership\(/)
  t.equal(await userVersion(ctx, CAROL), v0 + 2, 'a removal raises the version')
  t.match(await auditRows(ctx, 'directory.membership_removed'), [{ target_id: String(CAROL), namespace_id: ACME, details: { access_level: 30 } }])
})
