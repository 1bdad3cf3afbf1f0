// What each token event tells its owner. Input is the audit event (whose details never hold a
// secret) plus names looked up for it; output is a message model both renderings share.
import { getPermission } from '../domain/permissions/index.js'
import { APPROVAL_OWNER_COMPOSERS, APPROVER_COMPOSERS } from './approval-messages.js'
import { tokenLinks } from './links.js'
import type { MessageModel } from './render.js'
import { revokeReasonText } from './reasons.js'

export interface NotificationContext {
  event: {
    id: number
    action: string
    occurredAt: Date
    targetId: string | null
    details: Record<string, unknown>
  }
  owner: { name: string; email: string }
  /** Who did it, as a sentence fragment: "you", "Instance Admin (@root)", "the service "idp"". */
  actor: { label: string; isOwner: boolean }
  /** Full path of the group an event was scoped to (a group owner's revocation or removal), if any. */
  groupPath: string | null
  publicUrl: string
  /** Mails to a group's owners about someone's token (approval requests): that token's owner. */
  requester?: { name: string; username: string }
}

/** Actions that notify the token's owner, each with its composer. */
const COMPOSERS: Record<string, (ctx: NotificationContext) => MessageModel | undefined> = {
  'token.created': created,
  'token.expiring': expiring,
  'token.expired': expired,
  'token.revoked': revoked,
  'token.rotated': rotated,
  'token.updated': updated,
  'token.reuse_detected': reuseDetected,
  'token.leaked': leaked,
  'token.group_access_removed': groupAccessRemoved,
  'token.group_access_restored': groupAccessRestored,
  'token.converted': converted,
  'token.conversion_reminder': conversionReminder,
  ...APPROVAL_OWNER_COMPOSERS,
}

export const NOTIFYING_ACTIONS: readonly string[] = Object.keys(COMPOSERS)

/** Actions that mail the owners of a group (kind approvers_mail). */
export const APPROVER_ACTIONS: readonly string[] = Object.keys(APPROVER_COMPOSERS)

export function composeMessage(ctx: NotificationContext, kind = 'owner_mail'): MessageModel | undefined {
  return (kind === 'approvers_mail' ? APPROVER_COMPOSERS : COMPOSERS)[ctx.event.action]?.(ctx)
}

const str = (d: Record<string, unknown>, key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : undefined)
const num = (d: Record<string, unknown>, key: string): number | undefined => (typeof d[key] === 'number' ? (d[key] as number) : undefined)
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
const expiryText = (date: string | undefined | null) => (date ? `${date} (00:00 UTC)` : 'never')
const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`

function tokenName(ctx: NotificationContext): string {
  return str(ctx.event.details, 'name') ?? `#${ctx.event.targetId}`
}

/** The display hint is the prefix and first characters: enough to recognise, useless to attack. */
function hint(value: string | undefined): string {
  return value ? `${value}…` : 'unknown'
}

function base(ctx: NotificationContext, subject: string): MessageModel {
  const links = tokenLinks(ctx.publicUrl, ctx.event.targetId)
  return {
    subject,
    greeting: `Hi ${ctx.owner.name},`,
    paragraphs: [],
    facts: [
      ['Token', tokenName(ctx)],
      ['Token hint', hint(str(ctx.event.details, 'token_hint'))],
    ],
    lists: [],
    links: [
      { label: 'Token details', url: links.token },
      { label: 'API documentation', url: links.docs },
    ],
    footer:
      'You get this mail because it concerns a personal access token of your account. The token itself is never ' +
      'sent by mail. If you did not expect this change, revoke the token and tell your administrator.',
  }
}

function created(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const m = base(ctx, `New personal access token "${tokenName(ctx)}" added to your account`)
  m.paragraphs.push(
    ctx.actor.isOwner
      ? `You created a new personal access token "${tokenName(ctx)}".`
      : `${cap(ctx.actor.label)} created a new personal access token "${tokenName(ctx)}" for your account.`,
  )
  const from = num(d, 'duplicated_from_id')
  if (from !== undefined) {
    m.paragraphs.push(
      d.converted_from_legacy === true
        ? `It is a fine-grained copy of your legacy token #${from}, with the permissions chosen for it. Token #${from} keeps working until you revoke it.`
        : d.scopes_changed === true
          ? `It is a duplicate of token #${from}, with changed permissions.`
          : `It is a duplicate of token #${from}, with the same permissions.`,
    )
  }
  m.facts.push(
    ['Type', str(d, 'kind') === 'legacy' ? 'legacy (scopes)' : 'fine-grained'],
    ['Expires', expiryText(str(d, 'expires_at'))],
    ['Created by', ctx.actor.label],
    ['Created at', when(ctx.event.occurredAt)],
  )
  return m
}

function expiring(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const days = num(d, 'days_left') ?? num(d, 'window') ?? 0
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" expires in ${plural(days, 'day')}`)
  m.paragraphs.push(
    `Your personal access token "${tokenName(ctx)}" expires on ${str(d, 'expires_at')} at 00:00 UTC, in ${plural(days, 'day')}. ` +
      'From then on, every request made with it is refused.',
    'To keep access, rotate it before then: rotation issues a new secret with the same name and permissions ' +
      'and revokes the old one. If you no longer need it, let it expire or revoke it now.',
  )
  m.facts.push(['Expires', expiryText(str(d, 'expires_at'))], ['Notice', `${num(d, 'window') ?? days}-day reminder`])
  m.links.unshift({ label: 'Rotate (POST)', url: tokenLinks(ctx.publicUrl, ctx.event.targetId).rotate })
  return m
}

function expired(ctx: NotificationContext): MessageModel {
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" has expired`)
  m.paragraphs.push(
    `Your personal access token "${tokenName(ctx)}" expired on ${str(ctx.event.details, 'expires_at')} at 00:00 UTC and no longer works.`,
    'If you still need it, create a new token or duplicate this one (same permissions, new secret and expiry).',
  )
  m.facts.push(['Expired', expiryText(str(ctx.event.details, 'expires_at'))])
  return m
}

function revoked(ctx: NotificationContext): MessageModel | undefined {
  const reason = str(ctx.event.details, 'revoke_reason') ?? 'unknown'
  // A leak report's revocations are told in its one token.leaked mail, which lists them all.
  if (reason === 'leaked') return undefined
  const alert = reason === 'reuse_detected'
  const m = base(ctx, `${alert ? 'Security alert: your' : 'Your'} personal access token "${tokenName(ctx)}" was revoked`)
  const why = revokeReasonText(reason, ctx)
  m.paragraphs.push(`Your personal access token "${tokenName(ctx)}" was revoked and no longer works.`, why.sentence)
  if (alert) m.paragraphs.push('Check where these tokens were stored or used, then create a new token.')
  m.facts.push(['Revoked by', why.by], ['Reason', why.label], ['Revoked at', when(ctx.event.occurredAt)])
  const comment = str(ctx.event.details, 'comment')
  if (comment) m.facts.push(['Their note', comment])
  return m
}

function rotated(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" was rotated`)
  m.paragraphs.push(
    `${ctx.actor.isOwner ? 'You' : cap(ctx.actor.label)} rotated your personal access token "${tokenName(ctx)}". ` +
      'A new secret replaced the old one, which stopped working at once; the new secret was shown only to whoever rotated it.',
  )
  m.facts.splice(1, 1, ['New token hint', hint(str(d, 'token_hint'))], ['Old token hint', `${hint(str(d, 'previous_token_hint'))} (revoked)`])
  m.facts.push(['New expiry', expiryText(str(d, 'expires_at'))], ['Rotated by', ctx.actor.label], ['Rotated at', when(ctx.event.occurredAt)])
  return m
}

interface Change {
  from?: unknown
  to?: unknown
}

function permissionLabel(name: string): string {
  const title = getPermission(name)?.title
  return title ? `${title} (${name})` : name
}

function updated(ctx: NotificationContext): MessageModel {
  const changes = (ctx.event.details.changes ?? {}) as Record<string, Change & { permissions_added?: string[]; permissions_removed?: string[] }>
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" was changed`)
  m.paragraphs.push(`${ctx.actor.isOwner ? 'You' : cap(ctx.actor.label)} changed your personal access token "${tokenName(ctx)}". Its secret stays the same.`)
  const show = (v: unknown) => (v === null || v === undefined || v === '' ? '(none)' : String(v))
  if (changes.name) m.facts.push(['Name', `${show(changes.name.from)} → ${show(changes.name.to)}`])
  if (changes.description) m.facts.push(['Description', `${show(changes.description.from)} → ${show(changes.description.to)}`])
  if (changes.expires_at) m.facts.push(['Expiry', `${expiryText(changes.expires_at.from as string | null)} → ${expiryText(changes.expires_at.to as string | null)}`])
  const scopes = changes.granular_scopes
  if (scopes) {
    const added = scopes.permissions_added ?? []
    const removed = scopes.permissions_removed ?? []
    if (added.length > 0) m.lists.push({ title: 'Permissions added', items: added.map(permissionLabel) })
    if (removed.length > 0) m.lists.push({ title: 'Permissions removed', items: removed.map(permissionLabel) })
    if (added.length === 0 && removed.length === 0) m.paragraphs.push('Its permissions are the same; where they apply (groups and projects) changed.')
  }
  if (ctx.event.details.source === 'recommendation') {
    m.paragraphs.push('This change applied the least-privilege recommendation: the token now holds only what it was seen using. If a job now fails, see what it was denied in the token\'s recommendation and add that permission.')
  }
  m.facts.push(['Changed by', ctx.actor.label], ['Changed at', when(ctx.event.occurredAt)])
  return m
}

const PRESENTED_TO: Record<string, string> = {
  api: 'to authenticate an API request',
  authorize: 'to a service asking fgpat whether it may act',
  introspection: 'to token introspection',
  rotate: 'in a request to rotate it again',
}

/** The security alert: a secret rotation had replaced was used again, so a copy of it exists somewhere. */
function reuseDetected(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const revokedIds = Array.isArray(d.revoked_token_ids) ? (d.revoked_token_ids as unknown[]).filter((x) => typeof x === 'number') : []
  const m = base(ctx, `Security alert: a replaced secret of your token "${tokenName(ctx)}" was used again`)
  const via = PRESENTED_TO[str(d, 'presented_via') ?? ''] ?? 'again'
  m.paragraphs.push(
    `The secret of your personal access token "${tokenName(ctx)}" had been replaced by rotation, yet it was presented ${via}. ` +
      'Whoever presented it holds a copy of it: it may have leaked (a log, a CI variable, a shared file, a stolen laptop).',
    str(d, 'response') === 'notify'
      ? 'Policy (reuse_detection: notify) keeps its current successor working. If you do not recognise this use, revoke that token and create a new one.'
      : `As policy asks (reuse_detection: revoke_family), every active token of its rotation chain was revoked at once${revokedIds.length > 0 ? ` (${plural(revokedIds.length, 'token')}: ${revokedIds.map((id) => `#${id}`).join(', ')})` : ''}. Create a new token once you know where the old secret was kept.`,
  )
  m.facts.push(
    ['Presented from', str(d, 'presented_ip') ?? 'unknown address'],
    ['Presented at', when(ctx.event.occurredAt)],
    ['Rotated away at', str(d, 'rotated_at') ? when(new Date(str(d, 'rotated_at')!)) : 'unknown'],
  )
  return m
}

/** A secret scanner found the token in public: where, and which tokens were revoked for it. */
function leaked(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const revokedIds = Array.isArray(d.revoked_token_ids) ? (d.revoked_token_ids as unknown[]).filter((x) => typeof x === 'number') : []
  const why = revokeReasonText('leaked', ctx)
  const m = base(ctx, `Security alert: your personal access token "${tokenName(ctx)}" was found in public and revoked`)
  m.paragraphs.push(
    `The secret of your personal access token "${tokenName(ctx)}" was found in public${str(d, 'leak_url') ? `, at ${str(d, 'leak_url')}` : ''}. ${why.sentence}`,
    'Remove the secret from where it was found (and from the history of that place), check where else you stored it, then create a new token.',
  )
  if (revokedIds.length > 0) m.lists.push({ title: 'Tokens revoked', items: revokedIds.map((id) => `#${id}`) })
  m.facts.push(
    ['Found at', str(d, 'leak_url') ?? 'not given'],
    ['Kind of place', str(d, 'leak_source') ?? 'not given'],
    ['Reported by', why.by],
    ['Revoked at', when(ctx.event.occurredAt)],
  )
  return m
}

/** The group a group owner acted on: its path today, else as recorded with the event. */
function groupOf(ctx: NotificationContext): string {
  return ctx.groupPath ?? str(ctx.event.details, 'full_path') ?? `#${num(ctx.event.details, 'group_id') ?? '?'}`
}

function groupAccessRemoved(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const reason = str(ctx.event.details, 'reason')
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" can no longer access the group "${group}"`)
  m.paragraphs.push(
    `${ctx.actor.isOwner ? 'You' : cap(ctx.actor.label)}, as an owner of the group "${group}", removed the access of your personal access token ` +
      `"${tokenName(ctx)}" to that group and everything in it (its subgroups and projects). Requests made there with the token are now refused.`,
    'The token is not revoked: it keeps working everywhere else its permissions reach, with the same secret. ' +
      'Tokens rotated or duplicated from it keep this restriction.',
    'If you need this access back, ask an owner of the group to restore it.',
  )
  m.facts.push(['Group', group], ['Removed by', ctx.actor.label], ['Reason', reason ?? '(none given)'], ['Removed at', when(ctx.event.occurredAt)])
  return m
}

function groupAccessRestored(ctx: NotificationContext): MessageModel {
  const group = groupOf(ctx)
  const m = base(ctx, `Your personal access token "${tokenName(ctx)}" can access the group "${group}" again`)
  m.paragraphs.push(
    `${ctx.actor.isOwner ? 'You' : cap(ctx.actor.label)}, as an owner of the group "${group}", restored the access of your personal access token ` +
      `"${tokenName(ctx)}" to that group: requests made there with it are decided by its permissions again.`,
  )
  m.facts.push(['Group', group], ['Restored by', ctx.actor.label], ['Restored at', when(ctx.event.occurredAt)])
  return m
}

const strings = (d: Record<string, unknown>, key: string): string[] => (Array.isArray(d[key]) ? (d[key] as unknown[]).filter((x): x is string => typeof x === 'string') : [])
const instant = (iso: string | undefined) => (iso ? when(new Date(iso)) : 'unknown')

/** A legacy token converted to fine-grained: the successor (the event's target) and when the legacy one stops. */
function converted(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const legacy = `"${str(d, 'legacy_name') ?? `#${num(d, 'converted_from_id')}`}"`
  const ends = instant(str(d, 'conversion_grace_ends_at'))
  const m = base(ctx, `Your legacy token ${legacy} was converted to the fine-grained token "${tokenName(ctx)}"`)
  m.paragraphs.push(
    `${ctx.actor.isOwner ? 'You' : cap(ctx.actor.label)} converted your legacy personal access token ${legacy} (#${num(d, 'converted_from_id')}) ` +
      `into a new fine-grained token "${tokenName(ctx)}" that holds only the permissions listed below` +
      `${str(d, 'source') === 'recommendation' ? ', chosen from what the legacy token was actually seen doing' : ''}.`,
    `The legacy token keeps working until ${ends}. Then it is revoked automatically: before that, replace it with the new token ` +
      'wherever it is used. The new secret was shown once, to whoever converted it.',
  )
  const permissions = strings(d, 'permissions')
  if (permissions.length > 0) m.lists.push({ title: 'Permissions of the new token', items: permissions.map(permissionLabel) })
  const targets = strings(d, 'targets')
  if (targets.length > 0) m.lists.push({ title: 'Where they apply', items: targets })
  m.facts.splice(1, 1, ['New token hint', hint(str(d, 'token_hint'))], ['Legacy token hint', hint(str(d, 'legacy_token_hint'))])
  m.facts.push(
    ['Legacy token works until', ends], ['New token expires', expiryText(str(d, 'expires_at'))],
    ['Converted by', ctx.actor.label], ['Converted at', when(ctx.event.occurredAt)],
  )
  return m
}

/** A few days before a converted legacy token is revoked. */
function conversionReminder(ctx: NotificationContext): MessageModel {
  const d = ctx.event.details
  const ends = str(d, 'conversion_grace_ends_at')
  const left = ends ? Math.max(1, Math.ceil((new Date(ends).getTime() - ctx.event.occurredAt.getTime()) / 86_400_000)) : undefined
  const successor = num(d, 'converted_to')
  const m = base(ctx, `Your legacy token "${tokenName(ctx)}" will be revoked${left ? ` in ${plural(left, 'day')}` : ' soon'}`)
  m.paragraphs.push(
    `Your legacy personal access token "${tokenName(ctx)}" was converted to ${successor ? `the fine-grained token #${successor}` : 'a fine-grained token'}. ` +
      `It keeps working until ${instant(ends)}, and is then revoked automatically.`,
    'If something still uses it, switch it to the fine-grained token before then. Nothing else needs doing: the fine-grained token is not affected.',
  )
  m.facts.push(['Works until', instant(ends)])
  if (successor) m.facts.push(['Replaced by', `token #${successor}`])
  return m
}
