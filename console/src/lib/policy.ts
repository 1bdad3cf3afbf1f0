// The knobs of the instance token settings and of a top-level group's token policy: how each is
// edited and what it does (words from the API schema descriptions, policies/schemas.ts).
import { api, must } from './api.js'

export type PolicyTarget = { kind: 'instance' } | { kind: 'group'; id: number }

export interface Knob {
  key: string
  label: string
  help: string
  input: 'checkbox' | 'days' | 'date' | 'list' | 'text' | 'reuse' | 'choice'
  /** The options of a 'choice' knob (API value, label). */
  choices?: { value: string; label: string }[]
  /** Empty means null (the API's "none" / "inherit"). */
  nullable?: boolean
}

const REUSE_INSTANCE =
  'When a secret already replaced by rotation is presented again (a sign it leaked): “Revoke the family” revokes every active token of its rotation chain (as GitLab), “Notify” only records it and mails the owner. Both alert the owner. The stricter of the instance and the groups the token reaches wins.'
const REUSE_GROUP =
  '“Revoke the family” makes reuse of a rotated-away secret revoke the whole rotation chain of tokens reaching this group even where the instance only notifies. “As the instance” (or Notify): the instance setting applies; a group cannot loosen it.'

const common = (group: boolean): Knob[] => [
  { key: 'require_expiry', label: 'Require an expiry date', help: 'Refuse tokens created without an expiry date.', input: 'checkbox' },
  group
    ? { key: 'max_lifetime_days', label: 'Maximum lifetime (days)', help: 'A stricter maximum lifetime for tokens reaching this group, 1–400 days. Empty: the instance maximum.', input: 'days', nullable: true }
    : { key: 'max_lifetime_days', label: 'Maximum lifetime (days)', help: 'Longest lifetime of a new token, 1–400 days.', input: 'days' },
  { key: 'default_lifetime_days', label: 'Default lifetime (days)', help: 'Expiry given to new and duplicated tokens created without one, 1–400 days. Empty: none.', input: 'days', nullable: true },
  { key: 'allow_legacy_tokens', label: 'Allow legacy tokens', help: 'When off, legacy (scopes) tokens cannot be created and stop working.', input: 'checkbox' },
  group
    ? { key: 'enforce_fine_grained_from', label: 'Fine-grained only from', help: 'From this date legacy tokens stop working on this group (and its members cannot create them). Empty: no date.', input: 'date', nullable: true }
    : { key: 'legacy_tokens_blocked_from', label: 'Legacy tokens blocked from', help: 'From this date legacy tokens stop working and cannot be created. Empty: no date.', input: 'date', nullable: true },
  { key: 'blocked_permissions', label: 'Blocked permissions', help: 'Permission names (one per line, from the permission list) no token may hold or use.', input: 'list' },
  { key: 'allowed_ip_ranges', label: 'Allowed IP ranges', help: 'CIDR ranges (IPv4 or IPv6), one per line, tokens may be used from. Empty: any address.', input: 'list' },
  { key: 'auto_revoke_unused_days', label: 'Revoke unused tokens after (days)', help: 'Revoke tokens unused this many days, 1–3650. Empty: never.', input: 'days', nullable: true },
  { key: 'reuse_detection', label: 'On reuse of a rotated secret', help: group ? REUSE_GROUP : REUSE_INSTANCE, input: 'reuse', nullable: group },
]

export function knobsFor(target: PolicyTarget): Knob[] {
  if (target.kind === 'group') {
    return [
      ...common(true),
      {
        key: 'require_approval', label: 'Require approval of tokens',
        help: 'Tokens that gain reach into this group (new, duplicated, or edited to reach it) are refused here until an owner approves them (Inventory → Approval requests). Tokens that reached it before are not affected.',
        input: 'checkbox',
      },
      {
        key: 'approval_notifications', label: 'Mail the owners about approval requests',
        help: 'Each request: one mail to the owners as each request arrives. Daily digest: no mail per request; once a day (08:00 UTC unless configured) each owner gets one mail listing the pending requests, none when nothing is pending. Switching back mails what is pending at once. The requester always hears the outcome at once.',
        input: 'choice',
        choices: [{ value: 'each_request', label: 'For each request' }, { value: 'daily_digest', label: 'Daily digest' }],
      },
    ]
  }
  return [
    ...common(false),
    {
      key: 'legacy_conversion_grace_days', label: 'Grace after converting a legacy token (days)',
      help: 'How long a legacy token converted to fine-grained keeps working beside its successor before it is revoked, 0–90 days (also the longest a conversion may ask for).', input: 'days',
    },
    { key: 'token_prefix', label: 'Token prefix', help: 'Prefix of new fine-grained tokens: 2–16 lowercase letters or digits followed by “-”. Empty: the configured TOKEN_PREFIX.', input: 'text', nullable: true },
  ]
}

export type PolicyValues = Record<string, unknown>

export async function loadPolicy(target: PolicyTarget): Promise<PolicyValues> {
  return target.kind === 'instance'
    ? must(api.GET('/api/v4/application/settings/personal_access_tokens'))
    : must(api.GET('/api/v4/groups/{id}/personal_access_token_policy', { params: { path: { id: target.id } } }))
}

export async function savePolicy(target: PolicyTarget, changes: PolicyValues): Promise<PolicyValues> {
  // The body is built from the knobs above, which mirror the API's update schemas.
  return target.kind === 'instance'
    ? must(api.PUT('/api/v4/application/settings/personal_access_tokens', { body: changes as never }))
    : must(api.PUT('/api/v4/groups/{id}/personal_access_token_policy', { params: { path: { id: target.id } }, body: changes as never }))
}

/** Form text for an API value. */
export function toForm(knob: Knob, value: unknown): string | boolean {
  if (knob.input === 'checkbox') return Boolean(value)
  if (knob.input === 'list') return (value as string[] | undefined ?? []).join('\n')
  return value === null || value === undefined ? '' : String(value)
}

/** API value for form text (numbers stay text when they are not numbers, so the API names the field). */
export function fromForm(knob: Knob, value: string | boolean): unknown {
  if (knob.input === 'checkbox') return value
  const text = String(value).trim()
  if (knob.input === 'list') return text.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean)
  if (text === '') return knob.nullable ? null : text
  if (knob.input === 'days') return /^-?\d+$/.test(text) ? Number(text) : text
  return text
}
