// Everything a notification needs besides the audit event itself: its recipient (the token owner,
// with today's address), a readable name for whoever acted, and the group an event was scoped to.
import { type Kysely, sql } from 'kysely'
import type { Config } from '../config.js'
import type { AuditEventRow } from '../db/types.js'
import type { NotificationContext } from '../mail/messages.js'
import type { JobsDatabase } from './tables.js'

export type ContextResult = { ok: true; context: NotificationContext } | { ok: false; skip: string }

const userLabel = (u: { name: string; username: string }) => `${u.name} (@${u.username})`

async function describeActor(db: Kysely<JobsDatabase>, type: string, id: string | null, ownerId: number): Promise<NotificationContext['actor']> {
  if (type === 'user' && id !== null) {
    if (Number(id) === ownerId) return { label: 'you', isOwner: true }
    const user = await db.selectFrom('users').select(['name', 'username']).where('id', '=', Number(id)).executeTakeFirst()
    if (user) return { label: userLabel(user), isOwner: false }
    return { label: `user #${id}`, isOwner: false }
  }
  if (type === 'token' && id !== null) {
    // A personal access token acting for its owner (self-rotation, token management by PAT).
    const row = await db
      .selectFrom('personal_access_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.name as token_name', 't.token_hint', 'u.id as user_id', 'u.name', 'u.username'])
      .where('t.id', '=', Number(id))
      .executeTakeFirst()
    if (!row) return { label: `token #${id}`, isOwner: false }
    if (row.user_id === ownerId) return { label: `you (with your token "${row.token_name}", ${row.token_hint}…)`, isOwner: true }
    return { label: `${userLabel(row)} (with a personal access token)`, isOwner: false }
  }
  if (type === 'service') return { label: `the service "${id}"`, isOwner: false }
  return { label: 'fgpat, automatically', isOwner: false }
}

/**
 * A service account's mail goes to the owners of its group, who hold its tokens' secrets; never to
 * the account's own (usually generated) address. One message, every active owner addressed.
 */
async function serviceAccountRecipients(db: Kysely<JobsDatabase>, account: { name: string; service_account_group_id: number | null }) {
  const owners = await db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select('u.email')
    .where('m.namespace_id', '=', account.service_account_group_id ?? -1)
    .where('m.access_level', '>=', 50)
    .where('u.state', '=', 'active')
    .where('u.kind', '=', 'human')
    .where('u.email', 'like', '%@%')
    .where((eb) => eb.or([eb('m.expires_at', 'is', null), eb('m.expires_at', '>', sql<string>`current_date`)]))
    .orderBy('u.id')
    .limit(50)
    .execute()
  if (owners.length === 0) return undefined
  return { name: `owners of the service account ${account.name}`, email: owners.map((o) => o.email).join(', '), state: 'active' }
}

export async function loadNotificationContext(db: Kysely<JobsDatabase>, config: Readonly<Config>, event: AuditEventRow): Promise<ContextResult> {
  const details = event.details ?? {}
  let ownerId = typeof details.user_id === 'number' ? details.user_id : undefined
  if (ownerId === undefined && event.target_type === 'personal_access_token' && event.target_id !== null) {
    const token = await db.selectFrom('personal_access_tokens').select('user_id').where('id', '=', Number(event.target_id)).executeTakeFirst()
    ownerId = token?.user_id
  }
  if (ownerId === undefined) return { ok: false, skip: 'no token owner recorded' }
  const found = await db.selectFrom('users').select(['id', 'name', 'email', 'state', 'kind', 'service_account_group_id']).where('id', '=', ownerId).executeTakeFirst()
  if (!found) return { ok: false, skip: `owner ${ownerId} not in the directory` }
  const owner = found.kind === 'service_account' ? await serviceAccountRecipients(db, found) : found
  if (!owner) return { ok: false, skip: `service account ${ownerId}: its group has no active owner with an address` }
  // As GitLab does: blocked and deactivated users get no notification mail.
  if (owner.state !== 'active') return { ok: false, skip: `owner ${ownerId} is ${owner.state}` }
  if (!owner.email.includes('@')) return { ok: false, skip: `owner ${ownerId} has no usable email address` }
  const group =
    event.namespace_id === null
      ? undefined
      : await db.selectFrom('namespaces').select('full_path').where('id', '=', event.namespace_id).executeTakeFirst()
  return {
    ok: true,
    context: {
      event: { id: event.id, action: event.action, occurredAt: event.occurred_at, targetId: event.target_id, details },
      owner: { name: owner.name, email: owner.email },
      actor: await describeActor(db, event.actor_type, event.actor_id, ownerId),
      groupPath: group?.full_path ?? null,
      publicUrl: config.publicUrl,
    },
  }
}
