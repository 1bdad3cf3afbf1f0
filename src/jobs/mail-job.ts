// The mail job: one notification, delivered at most once per (event, kind) for good.
//
// In one PostgreSQL transaction it inserts the notification_deliveries row (ON CONFLICT DO
// NOTHING), sends, and commits. The row's unique key does the de-duplication BullMQ's jobId can
// only do while a finished job is kept: a second job for the same notification either finds the
// row committed (and stops) or waits on the first one's uncommitted insert and then stops. If the
// send fails, the rollback removes the claim and the retry sends again.
//
// The one window left: the mail server accepted the message and the process died before COMMIT
// (milliseconds). The retry then sends again, with the same Message-ID, which mail clients use to
// fold duplicates. The .eml transport has no window at all: a resend rewrites the same file.
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Db } from '../db/index.js'
import { composeMessage } from '../mail/messages.js'
import { renderHtml, renderText } from '../mail/render.js'
import type { MailTransport, OutgoingMail } from '../mail/transport.js'
import { loadApproversContext } from './approvers-context.js'
import { loadNotificationContext } from './mail-context.js'
import type { MailJobData } from './queues.js'
import { withJobTables } from './tables.js'

export type DeliveryOutcome = 'sent' | 'skipped' | 'duplicate'

export interface MailJobDeps {
  db: Db
  config: Readonly<Config>
  transport: MailTransport
  log: Logger
}

function fileStem(eventId: number, action: string, kind: string): string {
  const suffix = kind === 'owner_mail' ? '' : `-${kind}`
  return `${String(eventId).padStart(8, '0')}-${action.replace(/[^a-z0-9]+/gi, '-')}${suffix}`
}

function messageId(config: Readonly<Config>, eventId: number, kind: string): string {
  return `<fgpat.${kind}.${eventId}@${new URL(config.publicUrl).hostname || 'fgpat.local'}>`
}

export async function deliverNotification(deps: MailJobDeps, { eventId, kind }: MailJobData): Promise<DeliveryOutcome> {
  const db = withJobTables(deps.db)
  // Cheap check first: a re-enqueued notification usually ends here without a transaction.
  const done = await db.selectFrom('notification_deliveries').select('status').where('event_id', '=', eventId).where('kind', '=', kind).executeTakeFirst()
  if (done) return 'duplicate'

  return await db.transaction().execute(async (trx) => {
    const event = await trx.selectFrom('audit_events').selectAll().where('id', '=', eventId).executeTakeFirst()
    let mail: OutgoingMail | undefined
    let skip: string | undefined
    if (!event) skip = 'event no longer exists'
    else {
      const loaded = await (kind === 'approvers_mail' ? loadApproversContext : loadNotificationContext)(trx, deps.config, event)
      const model = loaded.ok ? composeMessage(loaded.context, kind) : undefined
      if (!loaded.ok) skip = loaded.skip
      else if (!model) skip = `no message for ${event.action}`
      else {
        mail = {
          to: loaded.context.owner.email,
          subject: model.subject,
          text: renderText(model),
          html: renderHtml(model),
          messageId: messageId(deps.config, eventId, kind),
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Fgpat-Event-Id': String(eventId), 'X-Fgpat-Event': event.action },
          fileStem: fileStem(eventId, event.action, kind),
        }
      }
    }
    const claimed = await trx
      .insertInto('notification_deliveries')
      .values({ event_id: eventId, kind, status: mail ? 'sent' : 'skipped', recipient: mail?.to ?? null, message_id: mail?.messageId ?? null, detail: skip ?? null })
      .onConflict((oc) => oc.columns(['event_id', 'kind']).doNothing())
      .returning('event_id')
      .executeTakeFirst()
    if (!claimed) return 'duplicate'
    if (!mail) {
      deps.log.info({ eventId, kind, reason: skip }, 'notification skipped')
      return 'skipped'
    }
    const { response } = await deps.transport.send(mail)
    deps.log.info({ eventId, kind, action: event?.action, to: mail.to, response }, 'notification sent')
    return 'sent'
  })
}
