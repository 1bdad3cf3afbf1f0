// Mails of approval requests (modules/approvals): a request goes to the owners of the top-level
// group that requires approval (kind approvers_mail); its outcome, or its lapse, to the requester.
import { tokenLinks } from './links.js'
import type { NotificationContext } from './messages.js'
import type { MessageModel } from './render.js'

const str = (d: Record<string, unknown>, key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : undefined)
const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
const groupOf = (ctx: NotificationContext) => str(ctx.event.details, 'full_path') ?? ctx.groupPath ?? 'unknown'
const nameOf = (ctx: NotificationContext) => str(ctx.event.details, 'name') ?? `#${ctx.event.targetId}`

function model(ctx: NotificationContext, subject: string, footer: string, extraLinks: { label: string; url: string }[] = []): MessageModel {
  const links = tokenLinks(ctx.publicUrl, ctx.event.targetId)
  return {
    subject,
    greeting: `Hi ${ctx.owner.name},`,
    paragraphs: [],
    facts: [['Token', nameOf(ctx)], ['Token hint', `${str(ctx.event.details, 'token_hint') ?? 'unknown'}…`], ['Group', groupOf(ctx)]],
    lists: [],
    links: [...extraLinks, { label: 'API documentation', url: links.docs }],
    footer,
  }
}

const OWNER_FOOTER = 'You get this mail because it concerns a personal access token of your account. The token itself is never sent by mail.'

function requested(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const base = ctx.publicUrl.replace(/\/+$/, '')
  const requests = `${base}/api/v4/groups/${str(ctx.event.details, 'group_id') ?? ctx.event.details.group_id}/personal_access_token_requests?state=pending`
  const who = ctx.requester ? `${ctx.requester.name} (@${ctx.requester.username})` : 'A member'
  const m = model(ctx, `Approval requested: token "${nameOf(ctx)}" wants to reach "${group}"`,
    `You get this mail as an owner of the group "${group}", whose token policy requires approval of the personal access tokens that reach it.`,
    [{ label: 'Pending requests', url: requests }])
  m.paragraphs.push(
    `${who} has a personal access token that reaches the group "${group}". Until an owner approves it, every request it makes there is refused (approval_pending); elsewhere it works.`,
    `Approve or deny it: POST …/personal_access_token_requests/${str(ctx.event.details, 'request_id') ?? ctx.event.details.request_id}/approve (or /deny). Unanswered, the request lapses on ${str(ctx.event.details, 'expires_at')?.slice(0, 10) ?? 'its expiry'}.`,
  )
  m.facts.push(['Reason given', str(ctx.event.details, 'reason') ?? '(none)'], ['Requested at', when(ctx.event.occurredAt)])
  return m
}

function approved(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const m = model(ctx, `Your personal access token "${nameOf(ctx)}" was approved for "${group}"`, OWNER_FOOTER)
  m.paragraphs.push(`${ctx.actor.label}, as an owner of the group "${group}", approved your personal access token "${nameOf(ctx)}": it now works there within its permissions. Rotating it keeps the approval.`)
  m.facts.push(['Approved by', ctx.actor.label], ['Comment', str(ctx.event.details, 'comment') ?? '(none)'])
  return m
}

function denied(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const m = model(ctx, `Your personal access token "${nameOf(ctx)}" was denied access to "${group}"`, OWNER_FOOTER)
  m.paragraphs.push(
    `${ctx.actor.label}, as an owner of the group "${group}", denied your personal access token "${nameOf(ctx)}" access to that group: requests made there with it stay refused.`,
    'The token keeps working everywhere else its permissions reach.',
  )
  m.facts.push(['Denied by', ctx.actor.label], ['Comment', str(ctx.event.details, 'comment') ?? '(none)'])
  return m
}

function lapsed(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const m = model(ctx, `The approval request of your token "${nameOf(ctx)}" for "${group}" expired`, OWNER_FOOTER)
  m.paragraphs.push(
    `No owner of the group "${group}" answered the approval request of your personal access token "${nameOf(ctx)}" in time. Requests made there with it stay refused; it works elsewhere.`,
    'To ask again, duplicate the token (with an approval_reason) and revoke this one.',
  )
  return m
}

interface DigestEntry { request_id: number; requester: string; token_name: string; token_hint: string; reach: string[]; reason: string | null; created_at: string; expires_at: string }

function age(from: string, asOf: Date): string {
  const hours = Math.max(0, Math.floor((asOf.getTime() - new Date(from).getTime()) / 3_600_000))
  if (hours < 24) return hours === 1 ? '1 hour' : `${hours} hours`
  const days = Math.floor(hours / 24)
  return days === 1 ? '1 day' : `${days} days`
}

/** The daily digest (group policy approval_notifications = daily_digest), one per owner (kind owner_mail). */
function digest(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const group = groupOf(ctx)
  const groupId = String(d.group_id)
  const entries = Array.isArray(d.requests) ? (d.requests as DigestEntry[]) : []
  const pending = typeof d.pending_count === 'number' ? d.pending_count : entries.length
  const arrived = typeof d.arrived_since === 'number' ? d.arrived_since : 0
  const asOf = new Date(str(d, 'as_of') ?? ctx.event.occurredAt.toISOString())
  const base = ctx.publicUrl.replace(/\/+$/, '')
  const api = `${base}/api/v4/groups/${groupId}/personal_access_token_requests`
  const since = str(d, 'since')
  const switched = d.trigger === 'switched'
  const requests = (n: number) => (n === 1 ? '1 request' : `${n} requests`)
  const m: MessageModel = {
    subject: `${switched ? 'Pending' : 'Daily digest:'} ${requests(pending)} for approval in "${group}"`,
    greeting: `Hi ${ctx.owner.name},`,
    paragraphs: [
      switched
        ? `The group "${group}" no longer sends a daily digest of approval requests; from now on its owners get one mail per request. These requests are pending now:`
        : `${requests(pending)} for approval ${pending === 1 ? 'is' : 'are'} pending in the group "${group}" as of ${when(asOf)}.`,
      `${since ? `Since the last digest (${when(new Date(since))})` : 'Since the group switched to a daily digest'}, ${requests(arrived)} arrived` +
        `${typeof d.pending_since === 'number' ? ` (${d.pending_since} still pending)` : ''}.`,
      'Until an owner approves a request, its token is refused in this group (approval_pending); elsewhere it works. ' +
        `Approve or deny each one in the console (the group's token inventory, tab "Approval requests") or with POST ${api}/<id>/approve (or /deny).`,
    ],
    facts: [['Group', group], ['Pending', String(pending)], ['Arrived since the last digest', String(arrived)]],
    lists: entries.map((e) => ({
      title: `Request ${e.request_id}: token "${e.token_name}" (${e.token_hint}…) of ${e.requester}`,
      items: [
        `Would reach: ${e.reach.length > 0 ? e.reach.join(', ') : 'nothing named'} in ${group}`,
        `Reason: ${e.reason ?? '(none given)'}`,
        `Waiting for ${age(e.created_at, asOf)}; lapses on ${e.expires_at.slice(0, 10)}`,
      ],
    })),
    links: [{ label: 'Pending requests', url: `${api}?state=pending` }, { label: 'API documentation', url: `${base}/docs` }],
    footer: `You get this mail as an owner of the group "${group}", whose token policy sends a daily digest of approval requests (approval_notifications). No digest is sent on a day when nothing is pending. The tokens themselves are never sent by mail.`,
  }
  if (pending > entries.length) m.paragraphs.push(`${pending - entries.length} more pending requests are not listed here: see the list of pending requests.`)
  return m
}

/** To the token's owner (kind owner_mail); the digest, to one owner of the group (details.user_id). */
export const APPROVAL_OWNER_COMPOSERS: Record<string, (ctx: NotificationContext) => MessageModel> = {
  'group.approval_digest': digest,
  'token.approval_approved': approved,
  'token.approval_denied': denied,
  'token.approval_expired': lapsed,
}

/** To the owners of the group asked (kind approvers_mail). */
export const APPROVER_COMPOSERS: Record<string, (ctx: NotificationContext) => MessageModel> = {
  'token.approval_requested': requested,
}
