// The daily approval digest (group policy approval_notifications = daily_digest): instead of one
// mail to the owners per request, each owner gets one mail a day listing the requests pending in
// the group. Run by the maintenance sweep; from APPROVAL_DIGEST_HOUR_UTC on, each group gets the
// day's digest once (a sweep that missed the hour sends it at its next run that day).
//
// Exactly once per group and day: one transaction locks the group's policy row (FOR SHARE, so a
// switch of approval_notifications waits for it), inserts approval_digests (group_id,
// digest_date), and records one group.approval_digest audit event per owner. The outbox turns each
// event into one mail (notification_deliveries keys it), as every other mail. A second worker
// waits on the first's uncommitted insert and then inserts nothing; a crash before COMMIT leaves
// no row and no event, so the next sweep sends the digest. The events hold a snapshot of what was
// pending (names and hints only, never a secret), so the mail says what the owner saw at the hour.
//
// Switching daily_digest → each_request (src/modules/policies/service.ts) sends a last digest at
// once, in the policy change's transaction: the requests that arrived since the last digest were
// never mailed one by one and no digest comes any more, so they are in that one. Switching
// each_request → daily_digest loses nothing either: earlier requests were mailed as they came and
// those still pending are listed again in the next digest.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import { recordAuditEvent } from '../audit/service.js'

export const DIGEST_ACTION = 'group.approval_digest'
/** Requests named in one digest; the rest are counted ("and N more"). */
export const DIGEST_LISTED = 50

export interface DigestItem {
  request_id: number
  requester: string
  token_name: string
  token_hint: string
  /** What the token would reach: its permissions (fine-grained) or scopes (legacy). */
  reach: string[]
  reason: string | null
  created_at: string
  expires_at: string
}

interface PendingRow {
  id: number
  reason: string | null
  created_at: Date
  expires_at: Date
  token_name: string
  token_hint: string
  kind: string
  scopes: string[]
  permissions: string[]
  name: string
  username: string
}

/** Pending requests of the group whose token is still live, oldest first. */
async function pendingRequests(trx: Trx, groupId: number, now: Date) {
  const { rows } = await sql<PendingRow>`
    select r.id, r.reason, r.created_at, r.expires_at, t.name as token_name, t.token_hint, t.kind, t.scopes, t.permissions, u.name, u.username
    from token_approval_requests r join personal_access_tokens t on t.id = r.token_id join users u on u.id = t.user_id
    where r.group_id = ${groupId} and r.state = 'pending' and r.expires_at > ${now} and t.revoked_at is null
    order by r.created_at, r.id`.execute(trx)
  return rows
}

/** Active human owners of the group (service accounts hold no mailbox of their own). */
async function owners(trx: Trx, groupId: number, today: string) {
  const { rows } = await sql<{ id: number }>`
    select u.id from memberships m join users u on u.id = m.user_id
    where m.namespace_id = ${groupId} and m.access_level >= 50 and u.state = 'active' and u.kind = 'human' and u.email like '%@%'
      and (m.expires_at is null or m.expires_at > ${today}::date)
    order by u.id`.execute(trx)
  return rows.map((r) => Number(r.id))
}

/**
 * Writes one digest of the group (the row already inserted as `digestId`): its events, one per
 * owner, when something is pending. Returns the owners addressed.
 */
export async function writeDigest(trx: Trx, group: { id: number; fullPath: string }, digestId: number, now: Date, trigger: 'daily' | 'switched'): Promise<number> {
  const pending = await pendingRequests(trx, group.id, now)
  await sql`update approval_digests set pending_count = ${pending.length} where id = ${digestId}`.execute(trx)
  if (pending.length === 0) return 0
  // "Since the last digest": the last one that mailed anything (or, for a first digest, ever).
  const { rows: [counts] } = await sql<{ since: Date | null; arrived: string }>`
    with last as (select max(sent_at) as since from approval_digests where group_id = ${group.id} and pending_count > 0 and id <> ${digestId})
    select last.since, (select count(*) from token_approval_requests r where r.group_id = ${group.id} and (last.since is null or r.created_at > last.since)) as arrived
    from last`.execute(trx)
  const since = counts.since
  const items: DigestItem[] = pending.slice(0, DIGEST_LISTED).map((r) => ({
    request_id: Number(r.id), requester: `${r.name} (@${r.username})`, token_name: r.token_name, token_hint: r.token_hint,
    reach: r.kind === 'legacy' ? r.scopes.map((s) => `scope ${s}`) : r.permissions, reason: r.reason,
    created_at: r.created_at.toISOString(), expires_at: r.expires_at.toISOString(),
  }))
  const newPending = pending.filter((r) => since === null || r.created_at > since).length
  const recipients = await owners(trx, group.id, now.toISOString().slice(0, 10))
  for (const ownerId of recipients) {
    await recordAuditEvent(trx, {
      actor: { type: 'system', id: 'approval_digest' }, ip: null, requestId: null, action: DIGEST_ACTION, target: { type: 'group', id: group.id }, namespaceId: group.id,
      details: {
        // user_id: the recipient (the owner mail's addressee, src/jobs/mail-context.ts)
        user_id: ownerId, group_id: group.id, full_path: group.fullPath, digest_id: digestId, trigger, as_of: now.toISOString(),
        since: since?.toISOString() ?? null, pending_count: pending.length, arrived_since: Number(counts.arrived), pending_since: newPending, requests: items,
      },
    })
  }
  return recipients.length
}

export interface DigestDeps {
  db: Db
  clock: Clock
  hourUtc: number
  signal?: AbortSignal
}

export interface DigestResult {
  /** Groups whose digest for today was recorded by this run (with or without a mail). */
  groups: number
  /** Digest mails (one per owner) written to the outbox. */
  mails: number
}

/** The sweep's step: today's digest for every daily_digest group that has none yet (before the hour: nothing). */
export async function sendApprovalDigests(deps: DigestDeps, batch = 200): Promise<DigestResult> {
  const now = deps.clock()
  const result: DigestResult = { groups: 0, mails: 0 }
  if (now.getUTCHours() < deps.hourUtc) return result
  const today = now.toISOString().slice(0, 10)
  let after = 0
  for (;;) {
    if (deps.signal?.aborted) return result
    const { rows: groups } = await sql<{ id: number; full_path: string }>`
      select p.namespace_id as id, n.full_path from group_token_policies p join namespaces n on n.id = p.namespace_id
      where p.require_approval and p.approval_notifications = 'daily_digest' and p.namespace_id > ${after}
        and not exists (select 1 from approval_digests d where d.group_id = p.namespace_id and d.digest_date = ${today}::date)
      order by p.namespace_id limit ${batch}`.execute(deps.db)
    for (const g of groups) {
      if (deps.signal?.aborted) return result
      const id = Number(g.id)
      after = id
      const mails = await deps.db.transaction().execute(async (trx) => {
        // The policy may have changed since the list was read: decide on the locked row.
        const { rows: [policy] } = await sql<{ active: boolean }>`select require_approval and approval_notifications = 'daily_digest' as active
          from group_token_policies where namespace_id = ${id} for share`.execute(trx)
        if (!policy?.active) return undefined
        const { rows: [digest] } = await sql<{ id: number }>`insert into approval_digests (group_id, digest_date) values (${id}, ${today}::date)
          on conflict (group_id, digest_date) do nothing returning id`.execute(trx)
        if (!digest) return undefined // another worker sent it
        return await writeDigest(trx, { id, fullPath: g.full_path }, Number(digest.id), now, 'daily')
      })
      if (mails === undefined) continue
      result.groups += 1
      result.mails += mails
    }
    if (groups.length < batch) return result
  }
}

/** Switching back to each_request: the pending requests go out at once in a last digest (no digest_date). */
export async function sendLastDigest(trx: Trx, group: { id: number; fullPath: string }, now: Date): Promise<number> {
  const { rows: [digest] } = await sql<{ id: number }>`insert into approval_digests (group_id) values (${group.id}) returning id`.execute(trx)
  return writeDigest(trx, group, Number(digest.id), now, 'switched')
}
