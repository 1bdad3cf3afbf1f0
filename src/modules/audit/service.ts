// audit_events is both the audit log and the transactional outbox for notification mails: every
// change writes its row inside the same transaction as the change itself.
import { sql } from 'kysely'
import type { Trx } from '../../db/index.js'

export interface AuditEvent {
  actor: { type: string; id: string | null }
  action: string
  target: { type: string; id: string | number | null }
  namespaceId?: number | null
  /** Never a secret: callers pass names, hints, ids and before/after values only. */
  details?: Record<string, unknown>
  ip?: string | null
  requestId?: string | null
}

export interface AuditContext {
  actor: { type: string; id: string | null }
  ip: string | null
  requestId: string | null
}

export async function recordAuditEvent(trx: Trx, event: AuditEvent): Promise<number> {
  const row = await trx
    .insertInto('audit_events')
    .values({
      actor_type: event.actor.type,
      actor_id: event.actor.id,
      action: event.action,
      target_type: event.target.type,
      target_id: event.target.id === null ? null : String(event.target.id),
      namespace_id: event.namespaceId ?? null,
      details: JSON.stringify(event.details ?? {}),
      ip: event.ip ?? null,
      request_id: event.requestId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export function audit(ctx: AuditContext, action: string, target: AuditEvent['target'], details?: Record<string, unknown>, namespaceId?: number | null): AuditEvent {
  return { actor: ctx.actor, ip: ctx.ip, requestId: ctx.requestId, action, target, details, namespaceId }
}

// Which groups an event concerns is recorded by a trigger when it is written (migrations 0007 and
// 0009): the groups above its namespace, and those its token reaches at that moment, each marked
// whether the token reached that group itself (then every group below it sees the event too). A
// change that narrows a token's reach adds the groups it reached before, so they see it leave.

/** A group an event concerns; reached: the token reached the group itself, not only something inside it. */
export interface GroupTag { group_id: number; reached: boolean }

/** The groups (and every group above them) a token reaches now, as the group inventory counts reach. */
export async function tokenGroups(trx: Trx, tokenId: number): Promise<GroupTag[]> {
  const { rows } = await sql<GroupTag>`select group_id, reached from fgpat_token_reach(${tokenId})`.execute(trx)
  return rows
}

/** Adds groups to those an event concerns (the trigger's tags stay; a reached tag stays reached). */
export async function alsoConcerns(trx: Trx, eventId: number, tags: GroupTag[]): Promise<void> {
  if (tags.length === 0) return
  await sql`insert into audit_event_groups (event_id, group_id, reached)
    select ${eventId}, t.group_id, t.reached from unnest(${tags.map((g) => g.group_id)}::bigint[], ${tags.map((g) => g.reached)}::boolean[]) as t(group_id, reached)
    on conflict (group_id, event_id) do update set reached = audit_event_groups.reached or excluded.reached`.execute(trx)
}
