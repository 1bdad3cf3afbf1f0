// Maps token rows to the GitLab-shaped API object (plus fgpat's extensions).
import type { Db } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { tokenState } from '../../domain/dates.js'
import { presentScopes } from '../../domain/scopes.js'
import { removalsOf, type RemovalView } from './removals.js'
import { conversionLinks, scopesWithKindsOf } from './repository.js'
import type { TokenBody } from './schemas.js'

/** `view`: whose eyes (a group's inventory sees only the removals on its own path). */
export async function presentTokens(db: Db, rows: TokenRow[], now: Date, view?: RemovalView): Promise<TokenBody[]> {
  const [{ scopes, kinds }, removals, conversions] = await Promise.all([
    scopesWithKindsOf(db, rows.map((r) => r.id)), removalsOf(db, rows.map((r) => r.id), view), conversionLinks(db, rows),
  ])
  return rows.map((row) => {
    const state = tokenState(row, now)
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      revoked: row.revoked_at !== null,
      active: state === 'active',
      state,
      kind: row.kind,
      created_at: row.created_at.toISOString(),
      expires_at: row.expires_at,
      last_used_at: row.last_used_at?.toISOString() ?? null,
      last_used_ips: row.last_used_ips,
      user_id: row.user_id,
      scopes: row.scopes,
      granular: row.kind === 'fine_grained',
      granular_scopes: presentScopes(scopes.get(row.id) ?? [], (id) => kinds.get(id)),
      token_hint: row.token_hint,
      revoked_at: row.revoked_at?.toISOString() ?? null,
      revoke_reason: row.revoke_reason,
      previous_personal_access_token_id: row.previous_personal_access_token_id,
      duplicated_from_id: row.duplicated_from_id,
      template_id: row.template_id,
      converted_from: row.converted_from_id,
      converted_to: conversions.successorOf.get(row.id) ?? null,
      // On a successor: when the legacy token it replaces stops working.
      conversion_grace_ends_at: (row.converted_from_id !== null ? conversions.graceOf.get(row.converted_from_id) : row.conversion_grace_ends_at)?.toISOString() ?? null,
      group_access_removals: removals.get(row.id) ?? [],
    }
  })
}

export async function presentToken(db: Db, row: TokenRow, now: Date, extra: { token?: string; warnings?: string[] } = {}): Promise<TokenBody> {
  const [body] = await presentTokens(db, [row], now)
  return { ...body, ...(extra.token ? { token: extra.token } : {}), ...(extra.warnings?.length ? { warnings: extra.warnings } : {}) }
}
