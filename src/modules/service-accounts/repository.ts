// SQL for service accounts: users of kind service_account, their membership on the owning group.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { UserRow } from '../../db/types.js'

type Q = Db | Trx

export interface AccountRow extends UserRow {
  access_level: number | null
}

function accounts(db: Q, groupId: number) {
  return db
    .selectFrom('users as u')
    .leftJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'u.id').on('m.namespace_id', '=', groupId))
    .selectAll('u')
    .select('m.access_level')
    .where('u.kind', '=', 'service_account')
    .where('u.service_account_group_id', '=', groupId)
}

export async function findAccount(db: Q, groupId: number, userId: number): Promise<AccountRow | undefined> {
  return accounts(db, groupId).where('u.id', '=', userId).executeTakeFirst()
}

export async function listAccounts(db: Q, groupId: number, orderBy: 'id' | 'username', direction: 'asc' | 'desc', page: number, perPage: number) {
  const [{ total }, rows] = await Promise.all([
    db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('total'))
      .where('kind', '=', 'service_account').where('service_account_group_id', '=', groupId).executeTakeFirstOrThrow(),
    accounts(db, groupId).orderBy(`u.${orderBy}`, direction).orderBy('u.id', direction).limit(perPage).offset((page - 1) * perPage).execute(),
  ])
  return { total: Number(total), rows }
}

export async function insertAccount(trx: Trx, values: { username: string; name: string; email: string; groupId: number }): Promise<UserRow> {
  return trx
    .insertInto('users')
    .values({
      id: sql<number>`nextval('service_account_user_ids')`, username: values.username, name: values.name, email: values.email,
      kind: 'service_account', service_account_group_id: values.groupId,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function addMembership(trx: Trx, userId: number, groupId: number, accessLevel: number) {
  await trx.insertInto('memberships').values({ user_id: userId, namespace_id: groupId, access_level: accessLevel, expires_at: null }).execute()
}

/** Deletion: the account is deactivated (its row stays, tokens refer to it), loses its memberships and live tokens. */
export async function deactivate(trx: Trx, userId: number, by: string, at: Date) {
  await trx.updateTable('users').set({ state: 'deactivated', version: sql`version + 1`, updated_at: at }).where('id', '=', userId).execute()
  await trx.deleteFrom('memberships').where('user_id', '=', userId).execute()
  return trx
    .updateTable('personal_access_tokens')
    .set({ revoked_at: at, revoked_by: by, revoke_reason: 'service_account_deleted', updated_at: at, version: sql`version + 1` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .execute()
}

export async function lockUser(trx: Trx, userId: number) {
  return trx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst()
}

/** Each existing namespace's top-level group id (a token scope must stay inside the account's group). */
export async function rootsOf(db: Q, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map()
  const rows = await db.selectFrom('namespaces').select(['id', 'traversal_ids']).where('id', 'in', [...new Set(ids)]).execute()
  return new Map(rows.map((r) => [r.id, r.traversal_ids[0]]))
}
