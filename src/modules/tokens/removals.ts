// SQL for group_access_removals (migration 0007): a group's owners removed a token's access to the
// group and everything below it. Part of the token's state: every write moves the token's version
// (a trigger does it), so the hot path's cached entry and every instance follow.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import { type RemovalFact, type RemovalView, tokenFacts } from './facts.js'
import type { GroupAccessRemovalBody } from './schemas.js'

type Q = Db | Trx

/**
 * `rows` in fgpat_token_facts' order (by time, then group), grouped per token. Only the removals
 * the viewer may see come in (the function decides: tokens/facts.ts).
 */
export function groupRemovals(tokenIds: number[], rows: RemovalFact[]): Map<number, GroupAccessRemovalBody[]> {
  const out = new Map<number, GroupAccessRemovalBody[]>(tokenIds.map((id) => [id, []]))
  for (const r of rows) {
    const bar = r.removed_by.indexOf(':')
    out.get(r.token_id)?.push({
      group_id: r.group_id,
      full_path: r.full_path,
      removed_by: { type: r.removed_by.slice(0, bar), id: r.removed_by.slice(bar + 1), username: r.username },
      removed_at: new Date(r.removed_at).toISOString(),
      reason: r.reason,
    })
  }
  return out
}

export async function removalsOf(db: Q, tokenIds: number[], view?: RemovalView): Promise<Map<number, GroupAccessRemovalBody[]>> {
  if (tokenIds.length === 0) return new Map()
  return groupRemovals(tokenIds, (await tokenFacts(db, { removalsOf: tokenIds, view })).removals)
}

/**
 * A token issued from another (its rotation successor, a duplicate) keeps the other's removals: a
 * copy must not be a way around a group's decision. Takes a share lock on the original first, so
 * a removal being written concurrently is either copied or waited for (removeAccess locks the
 * token row for update).
 */
export async function copyRemovals(trx: Trx, fromTokenId: number, toTokenId: number): Promise<void> {
  await trx.selectFrom('personal_access_tokens').select('id').where('id', '=', fromTokenId).forShare().execute()
  await sql`insert into group_access_removals (token_id, group_id, removed_by, removed_by_user_id, reason, removed_at)
    select ${toTokenId}, group_id, removed_by, removed_by_user_id, reason, removed_at from group_access_removals where token_id = ${fromTokenId}
    on conflict do nothing`.execute(trx)
}

/** Whether a group on this path (a namespace's traversal ids) removed the token's access. */
export async function removedOnPath(db: Q, tokenId: number, traversal: number[]): Promise<boolean> {
  const row = await db.selectFrom('group_access_removals').select('group_id').where('token_id', '=', tokenId).where('group_id', 'in', traversal).executeTakeFirst()
  return row !== undefined
}

export async function findRemoval(db: Q, tokenId: number, groupId: number) {
  return db.selectFrom('group_access_removals').selectAll().where('token_id', '=', tokenId).where('group_id', '=', groupId).executeTakeFirst()
}

export async function insertRemoval(trx: Trx, values: { token_id: number; group_id: number; removed_by: string; removed_by_user_id: number | null; reason: string | null; removed_at: Date }) {
  return trx.insertInto('group_access_removals').values(values).returningAll().executeTakeFirstOrThrow()
}

export async function deleteRemoval(trx: Trx, tokenId: number, groupId: number) {
  return trx.deleteFrom('group_access_removals').where('token_id', '=', tokenId).where('group_id', '=', groupId).returningAll().executeTakeFirst()
}
