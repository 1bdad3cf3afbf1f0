// Webhook deliveries: fan-out in the outbox transaction, one BullMQ job per (endpoint, event), a
// signed POST per attempt (Standard Webhooks), the delivery log, and automatic disabling.
//
// Fan-out (fanOutWebhooks) runs inside dispatchOutbox's transaction: the webhook_deliveries rows
// (unique per endpoint and event) commit together with the event's dispatched mark, so an event
// reaches each matching endpoint once; jobs are enqueued before that commit under ids derived from
// the row, as the mail jobs are (a job that runs before the commit finds no row and is retried).
// Which endpoints match: enabled, subscribed to the event's type, and either the instance's or a
// group's whose audit log has the event (audit_event_groups: the groups the token reaches and
// those above them — the group inventory's reach).
//
// Each attempt: the payload (built once, stored on the row, so every attempt and redelivery sends
// the same bytes), signed with a fresh timestamp under the same webhook-id, POSTed over a socket
// whose DNS answer is checked again (DNS rebinding), 10 s timeout, redirects not followed (a 3xx
// is a failure). Not 2xx: BullMQ retries with exponential backoff. A delivery whose attempts are
// all spent counts against its endpoint; DISABLE_AFTER_FAILURES in a row spanning at least
// DISABLE_AFTER_MS disable it and mail the people who manage it.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { BlockList } from 'node:net'
import { type JobsOptions, type Queue } from 'bullmq'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import { Webhook } from 'standardwebhooks'
import type { Config } from '../config.js'
import type { Db, Trx } from '../db/index.js'
import { utcDate } from '../domain/dates.js'
import { WEBHOOK_ACTIONS, webhookEventType, webhookPayload } from '../domain/webhook-events.js'
import { allowList } from '../domain/webhook-targets.js'
import { renderHtml, renderText } from '../mail/render.js'
import type { MailTransport } from '../mail/transport.js'
import { recordAuditEvent } from '../modules/audit/service.js'
import { open } from '../modules/webhooks/secret-box.js'
import { REDELIVERY_ACTION, WEBHOOK_TARGET } from '../modules/webhooks/service.js'
import { withWebhookTables } from '../modules/webhooks/tables.js'
import { allowedAddresses, guardedLookup, TargetRefused } from '../modules/webhooks/target-guard.js'
import type { RetryPolicy } from './queues.js'
import { withJobTables } from './tables.js'

export const WEBHOOK_QUEUE = 'webhooks'
export const DISABLED_ACTION = 'webhook.disabled'
const DISABLED_MAIL_KIND = 'webhook_disabled_mail'

// 8 attempts from 30 s doubling: the last one ~64 minutes after the first failure, long enough to
// ride out a deploy or a short outage of the receiver, short enough that the log says "failed"
// the same hour.
export const DEFAULT_WEBHOOK_RETRY: RetryPolicy = { attempts: 8, backoffMs: 30_000 }
// An endpoint is disabled only when BOTH hold: 10 deliveries in a row failed (each after its whole
// retry budget: one flaky hour never does it), and the first of them failed 3 days ago or more (a
// receiver down over a long weekend keeps its subscription; a busy instance cannot disable a
// receiver within minutes by sending many events). One success resets the count.
export const DISABLE_AFTER_FAILURES = 10
export const DISABLE_AFTER_MS = 72 * 3_600_000
export const DELIVERY_TIMEOUT_MS = 10_000
/** Bytes of a receiver's answer we read (for the log's error text); the rest is discarded. */
const RESPONSE_PREVIEW = 512

export interface DisablePolicy {
  failures: number
  afterMs: number
}

export type WebhookJobData = { kind: 'deliver'; deliveryId: number } | { kind: 'disabled_mail'; eventId: number }

export interface WebhookFanOut {
  queue: Queue<WebhookJobData>
  retry: RetryPolicy
}

export function webhookJobOptions(retry: RetryPolicy): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  }
}

/** Stable per (delivery, redelivery round): a retry keeps its job, a redelivery gets a new one. */
export const deliveryJobId = (deliveryId: number, round: number) => `webhook-${deliveryId}-${round}`

/** The webhook-id header: stable per event and endpoint, so every attempt and redelivery repeats it. */
export const messageId = (eventId: number, endpointId: number) => `msg_${eventId}_${endpointId}`

interface OutboxRow {
  id: number
  action: string
  target_id: string | null
}

/** In the outbox transaction: delivery rows and jobs for the claimed events. Returns the jobs enqueued. */
export async function fanOutWebhooks(trx: Trx, rows: OutboxRow[], fan: WebhookFanOut): Promise<number> {
  const jobs: Array<{ name: string; data: WebhookJobData; opts: JobsOptions }> = []
  const opts = webhookJobOptions(fan.retry)
  const events = rows.filter((r) => WEBHOOK_ACTIONS.includes(r.action))
  if (events.length > 0) {
    const values = events.map((e) => sql`(${e.id}::bigint, ${webhookEventType(e.action)!}::text)`)
    const { rows: created } = await sql<{ id: number }>`
      insert into webhook_deliveries (endpoint_id, event_id, event_type, message_id)
      select w.id, e.id, e.type, 'msg_' || e.id || '_' || w.id
      from (values ${sql.join(values)}) as e (id, type)
      join webhook_endpoints w on w.enabled and e.type = any (w.events)
        and (w.group_id is null or exists (select 1 from audit_event_groups g where g.event_id = e.id and g.group_id = w.group_id))
      on conflict (endpoint_id, event_id) do nothing
      returning id`.execute(trx)
    for (const d of created) jobs.push({ name: 'deliver', data: { kind: 'deliver', deliveryId: d.id }, opts: { ...opts, jobId: deliveryJobId(d.id, 0) } })
  }
  for (const r of rows) {
    if (r.action === REDELIVERY_ACTION && r.target_id !== null) {
      const row = await withWebhookTables(trx).selectFrom('webhook_deliveries').select(['id', 'redeliveries']).where('id', '=', Number(r.target_id)).executeTakeFirst()
      if (row) jobs.push({ name: 'deliver', data: { kind: 'deliver', deliveryId: row.id }, opts: { ...opts, jobId: deliveryJobId(row.id, row.redeliveries) } })
    } else if (r.action === DISABLED_ACTION) {
      jobs.push({ name: 'disabled-mail', data: { kind: 'disabled_mail', eventId: r.id }, opts: { ...opts, jobId: `webhook-disabled-mail-${r.id}` } })
    }
  }
  if (jobs.length > 0) await fan.queue.addBulk(jobs)
  return jobs.length
}

export interface WebhookJobDeps {
  db: Db
  config: Readonly<Config>
  transport: MailTransport
  log: Logger
  disable: DisablePolicy
  /** Resolved once: the allow list of WEBHOOK_ALLOWED_RANGES. */
  allowed?: BlockList
}

export type WebhookOutcome = 'delivered' | 'skipped' | 'duplicate'

class Unrecoverable extends Error {
  override name = 'UnrecoverableError'
}

/** Builds the payload from the audit event and the token as they are at the first attempt. */
async function buildPayload(db: Db, eventId: number, type: string) {
  const event = await db.selectFrom('audit_events').selectAll().where('id', '=', eventId).executeTakeFirst()
  if (!event) return undefined
  const tokenId = event.target_type === 'personal_access_token' && event.target_id !== null && /^\d{1,18}$/.test(event.target_id) ? Number(event.target_id) : undefined
  const token = tokenId === undefined ? undefined : await db
    .selectFrom('personal_access_tokens as t')
    .leftJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id', 't.name', 't.kind', 't.scopes', 't.expires_at', 't.revoked_at', 'u.id as owner_id', 'u.username'])
    .where('t.id', '=', tokenId)
    .executeTakeFirst()
  let scopes: unknown = null
  if (token) {
    scopes = token.kind === 'legacy'
      ? token.scopes
      : (await db
        .selectFrom('personal_access_token_scopes as s')
        .leftJoin('namespaces as n', 'n.id', 's.namespace_id')
        .select(['s.access', 's.namespace_id', 'n.full_path', 's.permissions'])
        .where('s.token_id', '=', token.id)
        .orderBy('s.id')
        .execute()).map((s) => ({ access: s.access, namespace_id: s.namespace_id, full_path: s.full_path, permissions: s.permissions }))
  }
  return webhookPayload({
    type: type as never,
    action: event.action,
    eventId: event.id,
    occurredAt: event.occurred_at,
    details: event.details ?? {},
    actor: { type: event.actor_type, id: event.actor_id },
    token: token ? {
      id: token.id, name: token.name, kind: token.kind, expires_at: token.expires_at, revoked_at: token.revoked_at, scopes,
      owner: token.owner_id === null ? null : { id: token.owner_id, username: token.username! },
    } : null,
  })
}

interface Answer {
  status: number | null
  error: string | null
  durationMs: number
}

/** One POST, never following a redirect, bounded by DELIVERY_TIMEOUT_MS as a whole. */
function post(url: URL, body: string, headers: Record<string, string>, allowed: BlockList): Promise<Answer> {
  const started = performance.now()
  const done = (status: number | null, error: string | null): Answer => ({ status, error, durationMs: Math.round(performance.now() - started) })
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'fgpat-webhooks' },
      lookup: guardedLookup(allowed),
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    }, (res: IncomingMessage) => {
      let preview = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (preview.length < RESPONSE_PREVIEW) preview += chunk.slice(0, RESPONSE_PREVIEW - preview.length)
      })
      res.on('end', () => {
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) resolve(done(status, null))
        else if (status >= 300 && status < 400) resolve(done(status, `answered ${status} (redirects are not followed; register the final URL)`))
        else resolve(done(status, `answered ${status}${preview ? `: ${preview.replace(/\s+/g, ' ').trim()}` : ''}`))
      })
      res.on('error', (err) => resolve(done(status(res), err.message)))
    })
    req.on('error', (err) => resolve(done(null, err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : err.message)))
    req.end(body)
  })
}
const status = (res: IncomingMessage) => res.statusCode ?? null

/** One attempt of one delivery; throws to have BullMQ retry it. */
export async function deliverWebhook(deps: WebhookJobDeps, deliveryId: number, attempt: { made: number; allowed: number }): Promise<WebhookOutcome> {
  const db = withWebhookTables(deps.db)
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
    .select(['d.id', 'd.event_id', 'd.event_type', 'd.message_id', 'd.status', 'd.payload', 'w.id as endpoint_id', 'w.url', 'w.enabled', 'w.secret_box'])
    .where('d.id', '=', deliveryId)
    .executeTakeFirst()
  // Not committed yet (the outbox enqueues before its commit), or its endpoint was deleted.
  if (!row) throw new Error(`delivery ${deliveryId} not found (yet)`)
  if (row.status === 'delivered') return 'duplicate'
  if (!row.enabled) {
    await db.updateTable('webhook_deliveries').set({ status: 'failed', error: 'endpoint disabled' }).where('id', '=', row.id).where('status', '=', 'pending').execute()
    return 'skipped'
  }
  let payload = row.payload
  if (!payload) {
    const built = await buildPayload(deps.db, row.event_id, row.event_type)
    if (!built) {
      await db.updateTable('webhook_deliveries').set({ status: 'failed', error: 'event no longer exists' }).where('id', '=', row.id).execute()
      return 'skipped'
    }
    await db.updateTable('webhook_deliveries').set({ payload: JSON.stringify(built) }).where('id', '=', row.id).where('payload', 'is', null).execute()
    payload = (await db.selectFrom('webhook_deliveries').select('payload').where('id', '=', row.id).executeTakeFirstOrThrow()).payload!
  }
  const body = JSON.stringify(payload)
  const allowed = deps.allowed ?? allowList(deps.config.webhookAllowedRanges)
  const url = new URL(row.url)
  let answer: Answer
  try {
    // IP literals never reach the socket's lookup: check them (and names) here too.
    const addresses = await allowedAddresses(url.hostname, allowed)
    if (url.protocol === 'http:' && !addresses.every((a) => allowed.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'))) {
      throw new TargetRefused('plain http outside WEBHOOK_ALLOWED_RANGES')
    }
    const now = new Date()
    const signature = new Webhook(open(row.secret_box, deps.config.tokenPeppers)).sign(row.message_id, now, body)
    answer = await post(url, body, {
      'webhook-id': row.message_id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    }, allowed)
  } catch (err) {
    if (!(err instanceof TargetRefused)) throw err
    answer = { status: null, error: `refused: ${err.message}`, durationMs: 0 }
  }
  const ok = answer.error === null
  const refused = answer.error?.startsWith('refused: ') ?? false
  const last = ok || refused || attempt.made + 1 >= attempt.allowed
  await db.updateTable('webhook_deliveries').set((eb) => ({
    attempts: eb('attempts', '+', 1),
    response_status: answer.status,
    duration_ms: answer.durationMs,
    error: answer.error,
    last_attempt_at: sql`now()`,
    ...(ok ? { status: 'delivered' as const, delivered_at: sql`now()` } : last ? { status: 'failed' as const } : {}),
  })).where('id', '=', row.id).execute()
  if (ok) {
    await db.updateTable('webhook_endpoints').set({ consecutive_failures: 0, failing_since: null }).where('id', '=', row.endpoint_id).where('consecutive_failures', '>', 0).execute()
    deps.log.info({ deliveryId, endpointId: row.endpoint_id, status: answer.status, ms: answer.durationMs }, 'webhook delivered')
    return 'delivered'
  }
  deps.log.warn({ deliveryId, endpointId: row.endpoint_id, attempt: attempt.made + 1, err: answer.error }, 'webhook attempt failed')
  if (last) await countFailure(deps, row.endpoint_id)
  if (refused) throw new Unrecoverable(answer.error!)
  throw new Error(answer.error!)
}

/** A delivery failed for good: count it, and disable the endpoint past the policy. */
async function countFailure(deps: WebhookJobDeps, endpointId: number): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const w = withWebhookTables(trx)
    const row = await w
      .updateTable('webhook_endpoints')
      .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1), failing_since: sql`coalesce(failing_since, now())` }))
      .where('id', '=', endpointId)
      .returning(['consecutive_failures', 'failing_since', 'enabled', 'group_id', 'url'])
      .executeTakeFirst()
    if (!row || !row.enabled || row.consecutive_failures < deps.disable.failures) return
    if (Date.now() - row.failing_since!.getTime() < deps.disable.afterMs) return
    const reason = `${row.consecutive_failures} deliveries in a row failed since ${row.failing_since!.toISOString()}`
    const disabled = await w.updateTable('webhook_endpoints').set({ enabled: false, disabled_at: sql`now()`, disabled_reason: reason }).where('id', '=', endpointId).where('enabled', '=', true).returning('id').executeTakeFirst()
    if (!disabled) return
    await recordAuditEvent(trx, {
      actor: { type: 'system', id: null }, action: DISABLED_ACTION, target: { type: WEBHOOK_TARGET, id: endpointId },
      namespaceId: row.group_id, details: { url: row.url, reason },
    })
    deps.log.warn({ endpointId, reason }, 'webhook endpoint disabled after persistent failure')
  })
}

/** Who manages an endpoint: the instance's administrators, or the owners of its group (or above). */
async function managers(db: Db, groupId: number | null): Promise<Array<{ email: string; name: string }>> {
  if (groupId === null) return db.selectFrom('users').select(['email', 'name']).where('is_admin', '=', true).where('state', '=', 'active').orderBy('id').execute()
  const group = await db.selectFrom('namespaces').select('traversal_ids').where('id', '=', groupId).executeTakeFirst()
  if (!group) return []
  const today = utcDate(new Date())
  return db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.email', 'u.name'])
    .distinct()
    .where('m.namespace_id', 'in', group.traversal_ids)
    .where('m.access_level', '>=', 50)
    .where('u.state', '=', 'active')
    .where((eb) => eb.or([eb('m.expires_at', 'is', null), eb('m.expires_at', '>=', today)]))
    .orderBy('u.email')
    .execute()
}

/** The "your webhook was disabled" mail, once per event (notification_deliveries), to each manager. */
export async function sendDisabledMail(deps: WebhookJobDeps, eventId: number): Promise<WebhookOutcome> {
  const jobs = withJobTables(deps.db)
  const done = await jobs.selectFrom('notification_deliveries').select('status').where('event_id', '=', eventId).where('kind', '=', DISABLED_MAIL_KIND).executeTakeFirst()
  if (done) return 'duplicate'
  return jobs.transaction().execute(async (trx) => {
    const event = await trx.selectFrom('audit_events').selectAll().where('id', '=', eventId).executeTakeFirst()
    const endpointId = Number(event?.target_id)
    const hook = await withWebhookTables(deps.db).selectFrom('webhook_endpoints').select(['id', 'group_id', 'url', 'disabled_reason']).where('id', '=', endpointId).executeTakeFirst()
    const to = hook ? await managers(deps.db, hook.group_id) : []
    const claimed = await trx
      .insertInto('notification_deliveries')
      .values({ event_id: eventId, kind: DISABLED_MAIL_KIND, status: to.length > 0 ? 'sent' : 'skipped', recipient: to.map((u) => u.email).join(', ').slice(0, 1000) || null, message_id: null, detail: hook ? null : 'webhook deleted' })
      .onConflict((oc) => oc.columns(['event_id', 'kind']).doNothing())
      .returning('event_id')
      .executeTakeFirst()
    if (!claimed || !hook || to.length === 0) return claimed ? 'skipped' : 'duplicate'
    const where = hook.group_id === null ? 'the instance' : `group ${hook.group_id}`
    const path = hook.group_id === null ? '/api/v4/admin/personal_access_token_webhooks' : `/api/v4/groups/${hook.group_id}/personal_access_token_webhooks`
    const model = {
      subject: `Webhook disabled: ${new URL(hook.url).host}`,
      greeting: 'Hello,',
      paragraphs: [
        `The webhook ${hook.url} of ${where} kept failing, so fgpat stopped delivering token events to it.`,
        `Fix the receiver, then enable it again (PUT ${path}/${hook.id} with "enabled": true) and redeliver what it missed from its delivery log.`,
      ],
      facts: [['Webhook', `#${hook.id}`], ['Why', hook.disabled_reason ?? 'persistent failure']] as [string, string][],
      lists: [],
      links: [{ label: 'Delivery log', url: `${deps.config.publicUrl}${path}/${hook.id}/deliveries` }],
      footer: hook.group_id === null ? 'You get this mail as an administrator of fgpat.' : 'You get this mail as an owner of the group.',
    }
    for (const user of to) {
      await deps.transport.send({
        to: user.email, subject: model.subject, text: renderText(model), html: renderHtml(model),
        messageId: `<fgpat.${DISABLED_MAIL_KIND}.${eventId}.${Buffer.from(user.email).toString('hex').slice(0, 40)}@${new URL(deps.config.publicUrl).hostname || 'fgpat.local'}>`,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Fgpat-Event-Id': String(eventId), 'X-Fgpat-Event': DISABLED_ACTION },
        fileStem: `${String(eventId).padStart(8, '0')}-webhook-disabled-${user.email.replace(/[^a-z0-9]+/gi, '-')}`,
      })
    }
    deps.log.info({ eventId, endpointId, recipients: to.length }, 'webhook-disabled mail sent')
    return 'delivered'
  })
}
