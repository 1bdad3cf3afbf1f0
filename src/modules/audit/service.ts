// audit_events is both the audit log and the transactional outbox for notification mails: every
// change writes its row inside the same transaction as the change itself.
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
