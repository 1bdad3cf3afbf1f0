// Why a token was revoked, in words its owner understands. `revoke_reason` values come from the
// tokens module (owner, admin, rotated, reuse_detected), leak reports (leaked), governance (group_owner) and the expiry
// sweep (unused, with the policy that set the limit in the event's details; converted, when the
// grace of a legacy → fine-grained conversion ended); anything newer still reads sensibly through
// the fallback.
import type { NotificationContext } from './messages.js'

export interface RevokeReason {
  /** Short label for the facts table. */
  label: string
  /** Who, for the facts table. */
  by: string
  /** One or two sentences for the body. */
  sentence: string
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

function unusedRule(source: unknown, groupPath: string | null): { short: string; sentence: string } | undefined {
  if (source === 'group_policy') {
    const group = groupPath ? `the group "${groupPath}"` : 'a group the token could reach'
    return { short: `policy of ${group}`, sentence: `The rule is set by the token policy of ${group}.` }
  }
  if (source === 'instance_settings') return { short: 'instance settings', sentence: 'The rule is set by the instance settings.' }
  if (source === 'configuration') return { short: 'instance configuration', sentence: 'The rule is set by the instance configuration.' }
  return undefined
}

/** A scanner signing with its key is recorded as actor type secret_scanner (no user to name). */
function scannerLabel(actor: string, d: Record<string, unknown>): string {
  const source = typeof d.leak_source === 'string' ? ` (${d.leak_source})` : ''
  return actor === 'fgpat, automatically' ? `a secret scanner${source}` : `${actor}${source}`
}

export function revokeReasonText(reason: string, ctx: NotificationContext): RevokeReason {
  const d = ctx.event.details
  const actor = ctx.actor.label
  switch (reason) {
    case 'owner':
      return { label: 'revoked by its owner', by: actor, sentence: ctx.actor.isOwner ? 'You revoked it yourself.' : `${cap(actor)} revoked it.` }
    case 'admin':
      return { label: 'revoked by an administrator', by: actor, sentence: `An administrator, ${actor}, revoked it.` }
    case 'group_owner': {
      const group = ctx.groupPath ? `the group "${ctx.groupPath}"` : 'a group it could reach'
      return { label: 'revoked by a group owner', by: actor, sentence: `${cap(actor)}, an owner of ${group}, revoked it.` }
    }
    case 'rotated':
      return { label: 'replaced by rotation', by: actor, sentence: 'It was rotated: a new token with a new secret replaced it.' }
    case 'reuse_detected':
      return {
        label: 'reuse of a rotated token detected',
        by: 'fgpat, automatically',
        sentence:
          `A token of this rotation chain that had already been rotated away was presented again${d.presented_via === 'rotate' || d.presented_via === undefined ? ` (rotation requested by ${actor})` : ''}. ` +
          'An old secret being used again means it leaked, so every token in the chain was revoked at once.',
      }
    case 'leaked': {
      const where = typeof d.leak_url === 'string' ? ` at ${d.leak_url}` : ''
      return {
        label: 'found in public by a secret scanner',
        by: scannerLabel(actor, d),
        sentence: `A secret scanner reported finding its secret in public${where}. Anyone could have copied it from there, so it was revoked at once, ` +
          'with every other active token of its rotation chain.',
      }
    }
    case 'unused': {
      const days = typeof d.unused_days === 'number' ? d.unused_days : undefined
      const last = typeof d.last_used_at === 'string' ? `it was last used on ${d.last_used_at.slice(0, 10)}` : 'it was never used'
      // The owner should know whose rule it was (an instance-wide one, or a group's it reaches).
      const rule = unusedRule(d.policy_source, ctx.groupPath)
      return {
        label: `unused for ${days ?? 'too many'} days${rule ? ` (${rule.short})` : ''}`,
        by: 'fgpat, automatically',
        sentence: `Tokens that are not used for ${days ?? 'a set number of'} days are revoked automatically, and ${last}.${rule ? ` ${rule.sentence}` : ''}`,
      }
    }
    case 'converted': {
      const successor = typeof d.converted_to === 'number' ? `the fine-grained token #${d.converted_to}` : 'a fine-grained token'
      const ended = typeof d.conversion_grace_ends_at === 'string' ? ` on ${d.conversion_grace_ends_at.slice(0, 16).replace('T', ' ')} UTC` : ''
      return {
        label: 'replaced by a fine-grained token (conversion)',
        by: 'fgpat, automatically',
        sentence: `It was converted to ${successor}, which replaces it. It kept working during a grace period so that you could switch over; ` +
          `that period ended${ended}, so it was revoked as announced. The fine-grained token is not affected.`,
      }
    }
    default:
      return { label: reason, by: actor, sentence: `${cap(actor)} revoked it (reason recorded: ${reason}).` }
  }
}
