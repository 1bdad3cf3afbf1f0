// SQL for approval requests (migration 0011). The table is added to the Database type here with
// Kysely's type-only withTables, as the jobs do for theirs, so db/types.ts stays untouched.
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely'
import { sql } from 'kysely'
import type { Database } from '../../db/types.js'

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired'
export const APPROVAL_STATES: readonly ApprovalState[] = ['pending', 'approved', 'denied', 'expired']

export interface TokenApprovalRequestsTable {
  id: Generated<number>
  token_id: number
  group_id: number
  state: ColumnType<ApprovalState, ApprovalState | undefined, ApprovalState>
  reason: string | null
  decided_by: string | null
  decided_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  comment: string | null
  created_at: ColumnType<Date, Date | undefined, never>
  expires_at: ColumnType<Date, Date, Date>
}

type ApprovalDb = Database & { token_approval_requests: TokenApprovalRequestsTable }
type Q = Kysely<Database> | Transaction<Database>

const withTable = (db: Q) => db.withTables<{ token_approval_requests: TokenApprovalRequestsTable }>() as Kysely<ApprovalDb>

/** New pending requests for these groups; a (token, group) that has one already keeps it. Returns those created. */
export async function insertPending(trx: Transaction<Database>, tokenId: number, groupIds: number[], reason: string | null, expiresAt: Date) {
  if (groupIds.length === 0) return []
  return withTable(trx)
    .insertInto('token_approval_requests')
    .values(groupIds.map((group_id) => ({ token_id: tokenId, group_id, reason, expires_at: expiresAt })))
    .onConflict((oc) => oc.columns(['token_id', 'group_id']).doNothing())
    .returningAll()
    .execute()
}

/** Rotation: the requests (and their decisions) follow the token to its successor. */
export async function moveToSuccessor(trx: Transaction<Database>, fromId: number, toId: number): Promise<void> {
  await withTable(trx).updateTable('token_approval_requests').set({ token_id: toId }).where('token_id', '=', fromId).execute()
}

/** Conversion: the successor starts where the legacy token stands (which keeps working beside it for a while). */
export async function copyToSuccessor(trx: Transaction<Database>, fromId: number, toId: number): Promise<void> {
  await sql`insert into token_approval_requests (token_id, group_id, state, reason, decided_by, decided_at, comment, created_at, expires_at)
    select ${toId}, group_id, state, reason, decided_by, decided_at, comment, created_at, expires_at from token_approval_requests where token_id = ${fromId}
    on conflict (token_id, group_id) do nothing`.execute(trx)
}

export async function listForGroup(db: Q, groupId: number, state: ApprovalState | undefined, page: number, perPage: number) {
  let q = withTable(db).selectFrom('token_approval_requests as r').where('r.group_id', '=', groupId)
  if (state) q = q.where('r.state', '=', state)
  const [count, rows] = await Promise.all([
    q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    q.innerJoin('personal_access_tokens as t', 't.id', 'r.token_id')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .selectAll('r')
      .select(['t.name as token_name', 't.token_hint', 't.user_id', 't.revoked_at', 't.expires_at as token_expires_at', 'u.username', 'u.name as user_name'])
      .orderBy('r.id', 'desc')
      .limit(perPage)
      .offset((page - 1) * perPage)
      .execute(),
  ])
  return { total: Number(count.n), rows }
}

export type RequestListRow = Awaited<ReturnType<typeof listForGroup>>['rows'][number]

export async function lockRequest(trx: Transaction<Database>, groupId: number, requestId: number) {
  return withTable(trx).selectFrom('token_approval_requests').selectAll().where('id', '=', requestId).where('group_id', '=', groupId).forUpdate().executeTakeFirst()
}

export async function findListRow(db: Q, groupId: number, requestId: number) {
  return withTable(db)
    .selectFrom('token_approval_requests as r')
    .innerJoin('personal_access_tokens as t', 't.id', 'r.token_id')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .selectAll('r')
    .select(['t.name as token_name', 't.token_hint', 't.user_id', 't.revoked_at', 't.expires_at as token_expires_at', 'u.username', 'u.name as user_name'])
    .where('r.id', '=', requestId)
    .where('r.group_id', '=', groupId)
    .executeTakeFirst()
}

export async function setState(trx: Transaction<Database>, requestId: number, state: ApprovalState, by: string | null, comment: string | null, at: Date) {
  return withTable(trx)
    .updateTable('token_approval_requests')
    .set({ state, decided_by: by, decided_at: at, comment })
    .where('id', '=', requestId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Pending requests past their expiry, locked (several workers split them), with what the mail needs. */
export async function lockLapsed(trx: Transaction<Database>, now: Date, limit: number) {
  const { rows } = await sql<{ id: number; token_id: number; group_id: number; full_path: string; user_id: number; name: string; token_hint: string; token_digest: Buffer }>`
    select r.id, r.token_id, r.group_id, n.full_path, t.user_id, t.name, t.token_hint, t.token_digest
    from token_approval_requests r join personal_access_tokens t on t.id = r.token_id join namespaces n on n.id = r.group_id
    where r.state = 'pending' and r.expires_at <= ${now}
    order by r.expires_at, r.id limit ${limit}
    for update of r skip locked`.execute(trx)
  return rows.map((r) => ({ ...r, id: Number(r.id), token_id: Number(r.token_id), group_id: Number(r.group_id), user_id: Number(r.user_id) }))
}
