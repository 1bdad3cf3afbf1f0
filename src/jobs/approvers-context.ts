// The context of a mail to the owners of a group (an approval request): the token's context, sent
// to every active owner (access level 50, unexpired) of the event's group in one message, with the
// token's owner as the requester. One mail per event keeps the delivery exactly-once (one row in
// notification_deliveries) however many owners there are.
import { type Kysely, sql } from 'kysely'
import type { Config } from '../config.js'
import type { AuditEventRow } from '../db/types.js'
import { type ContextResult, loadNotificationContext } from './mail-context.js'
import type { JobsDatabase } from './tables.js'

export async function loadApproversContext(db: Kysely<JobsDatabase>, config: Readonly<Config>, event: AuditEventRow): Promise<ContextResult> {
  const base = await loadNotificationContext(db, config, event)
  if (!base.ok) return base
  if (event.namespace_id === null) return { ok: false, skip: 'no group recorded' }
  // Read when the mail is sent, not when the request was made: a group that switched to the
  // digest meanwhile lists the request in its next digest; one that switched back to each_request
  // got a last digest at the switch (src/modules/approvals/digest.ts). Either way nothing is lost.
  const { rows: [policy] } = await sql<{ approval_notifications: string }>`select approval_notifications from group_token_policies where namespace_id = ${event.namespace_id}`.execute(db)
  if (policy?.approval_notifications === 'daily_digest') return { ok: false, skip: `group ${event.namespace_id} gets a daily digest of approval requests instead` }
  const today = event.occurred_at.toISOString().slice(0, 10)
  const owners = await db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.email'])
    .where('m.namespace_id', '=', event.namespace_id)
    .where('m.access_level', '>=', 50)
    .where('u.state', '=', 'active')
    .where((eb) => eb.or([eb('m.expires_at', 'is', null), eb('m.expires_at', '>', today)]))
    .orderBy('u.id')
    .execute()
  const emails = owners.map((o) => o.email).filter((e) => e.includes('@'))
  if (emails.length === 0) return { ok: false, skip: `group ${event.namespace_id} has no owner with a usable email address` }
  const requester = await db.selectFrom('users').select(['name', 'username']).where('id', '=', Number(event.details?.user_id)).executeTakeFirst()
  const groupPath = base.context.groupPath ?? String(event.namespace_id)
  return {
    ok: true,
    context: { ...base.context, owner: { name: `owners of ${groupPath}`, email: emails.join(', ') }, actor: { label: base.context.actor.label, isOwner: false }, ...(requester ? { requester } : {}) },
  }
}
