// A new token starts its own rotation family: migration 0022's trigger sets family_id to the new
// row's id, so a creation writes the row once (it used to insert, then update family_id).
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import * as repo from '../../../src/modules/tokens/repository.js'
import { build } from '../../helpers/app.js'
import { ALICE, seedDirectory } from '../../helpers/fixtures.js'
import { recordingDb } from '../../helpers/statements.js'

const values = (familyId: number | null) => ({
  user_id: ALICE, name: 'family', description: null, kind: 'fine_grained' as const, scopes: [], token_digest: randomBytes(32), token_hint: 'fgpat-abcd',
  expires_at: null, created_by: `user:${ALICE}`, previous_personal_access_token_id: null, family_id: familyId, duplicated_from_id: null, template_id: null, converted_from_id: null,
})

t.test('a token inserted without a family starts its own, in the one insert; a given family is kept', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const { db, statements } = recordingDb(t, ctx)

  const first = await db.transaction().execute((trx) => repo.insertToken(trx, values(null), [{ access: 'user', namespace_id: null, permissions: ['read_user'] }]))
  t.equal(first.family_id, first.id, 'the returned row has its own id as family')
  t.same(statements.filter((s) => !/^(begin|commit)$/i.test(s)).map((s) => s.split(' ')[0]), ['insert', 'insert'], 'the token and its scope: no update afterwards')

  const successor = await db.transaction().execute((trx) => repo.insertToken(trx, values(first.id), []))
  t.equal(successor.family_id, first.id, 'a rotation successor keeps the family it is given')

  // Any other insert path (SQL, a bulk load) gets the same default.
  const { rows: [direct] } = await sql<{ id: number; family_id: number }>`
    insert into personal_access_tokens (user_id, name, kind, token_digest, token_hint, created_by)
    values (${ALICE}, 'sql', 'fine_grained', ${randomBytes(32)}, 'fgpat-efgh', 'test') returning id, family_id`.execute(ctx.app.db)
  t.equal(direct.family_id, direct.id, 'a row inserted by SQL gets its own id as family too')
})
