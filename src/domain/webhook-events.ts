// Audit actions → webhook event types, and the payload a receiver gets. Pure.
//
// The table is the whole contract: an action not in it (a future one, directory sync, policy
// changes) is simply not delivered, so adding an audit action never surprises a receiver. Several
// actions may share a type (an approval that is approved or denied is one "decided" event whose
// data says which).
export const WEBHOOK_EVENT_TYPES = [
  'token.created',
  'token.updated',
  'token.rotated',
  'token.revoked',
  'token.expiring',
  'token.expired',
  'token.reuse_detected',
  'token.leaked',
  'token.group_access_removed',
  'token.group_access_restored',
  'token.converted',
  'token.approval_requested',
  'token.approval_decided',
] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

const BY_ACTION: Record<string, WebhookEventType> = {
  'token.created': 'token.created',
  'token.updated': 'token.updated',
  'token.rotated': 'token.rotated',
  'token.revoked': 'token.revoked',
  'token.expiring': 'token.expiring',
  'token.expired': 'token.expired',
  'token.reuse_detected': 'token.reuse_detected',
  'token.leaked': 'token.leaked',
  'token.leak_reported': 'token.leaked',
  'token.group_access_removed': 'token.group_access_removed',
  'token.group_access_restored': 'token.group_access_restored',
  'token.converted': 'token.converted',
  'token.approval_requested': 'token.approval_requested',
  'token.approval_approved': 'token.approval_decided',
  'token.approval_denied': 'token.approval_decided',
  'token.approval_decided': 'token.approval_decided',
  'token.approval_expired': 'token.approval_decided',
}

/** The webhook event type of an audit action, or undefined: not delivered. */
export function webhookEventType(action: string): WebhookEventType | undefined {
  return Object.hasOwn(BY_ACTION, action) ? BY_ACTION[action] : undefined
}

/** Audit actions that become some webhook event (the outbox's cheap first filter). */
export const WEBHOOK_ACTIONS: readonly string[] = Object.keys(BY_ACTION)

// Audit details that may travel in a payload. An allow list, not a deny list: details never hold
// a secret today, but a future field must be looked at before it leaves the service. token_hint
// (the secret's first characters) stays home too.
const DETAIL_FIELDS = [
  'revoke_reason', 'reason', 'comment', 'changes', 'days_left', 'group_id', 'full_path', 'previous_personal_access_token_id',
  'reused_token_id', 'presented_via', 'decision', 'request_id', 'source', 'url', 'converted_from_id',
] as const

export interface PayloadInput {
  type: WebhookEventType
  action: string
  eventId: number
  occurredAt: Date
  details: Record<string, unknown>
  actor: { type: string; id: string | null }
  token: {
    id: number
    name: string
    kind: string
    expires_at: string | null
    revoked_at: Date | null
    owner: { id: number; username: string } | null
    scopes: unknown
  } | null
}

export interface WebhookPayload {
  type: WebhookEventType
  timestamp: string
  data: Record<string, unknown>
}

export function webhookPayload(input: PayloadInput): WebhookPayload {
  const details: Record<string, unknown> = {}
  for (const key of DETAIL_FIELDS) if (input.details[key] !== undefined) details[key] = input.details[key]
  const reason = input.details.revoke_reason ?? input.details.reason ?? null
  return {
    type: input.type,
    timestamp: input.occurredAt.toISOString(),
    data: {
      event_id: input.eventId,
      action: input.action,
      token: input.token && {
        id: input.token.id,
        name: input.token.name,
        kind: input.token.kind,
        owner: input.token.owner,
        scopes: input.token.scopes,
        expires_at: input.token.expires_at,
        revoked_at: input.token.revoked_at?.toISOString() ?? null,
      },
      actor: input.actor,
      reason,
      details,
    },
  }
}
