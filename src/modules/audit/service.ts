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

// Which groups an event concerns is recorded by a trigger when it is written (migration 0007): the
// groups above its namespace, and those its token reaches at that moment. A change that narrows
// a token's reach adds the groups it reached before, so they see it leave.

/** The groups (and every group above them) a token reaches now, as the group inventory counts reach. */
export async function tokenGroups(trx: Trx, tokenId: number): Promise<number[]> {
  const { rows } = await sql<{ groups: number[] }>`select fgpat_token_groups(${tokenId}) as groups`.execute(trx)
  return rows[0]?.groups ?? []
}

/** Adds groups to those an event concerns (namespaces that are not groups are ignored). */
export async function alsoConcerns(trx: Trx, eventId: number, namespaceIds: number[]): Promise<void> {
  if (namespaceIds.length === 0) return
  await sql`insert into audit_event_groups (event_id, group_id)
    select ${eventId}, id from namespaces where id = any(${namespaceIds}::bigint[]) and kind = 'group'
    on conflict do nothing`.execute(trx)
}
