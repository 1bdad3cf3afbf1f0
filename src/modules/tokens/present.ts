// Maps token rows to the GitLab-shaped API object (plus fgpat's extensions).
import type { Db } from '../../db/index.js'
import type { TokenRow, TokenScopeRow } from '../../db/types.js'
import { tokenState } from '../../domain/dates.js'
import { presentScopes } from '../../domain/scopes.js'
import { conversionLinksFrom, type NamespaceKind, type RemovalView, tokenFacts } from './facts.js'
import { groupRemovals } from './removals.js'
import type { TokenBody } from './schemas.js'

/**
 * The token columns presentTokens reads. A page may select only these: the others (the digest, the
 * notice times, the version …) cost the API their parsing on every row for nothing (bench/README.md).
 */
export const PRESENTED_FIELDS = [
  'id', 'name', 'description', 'kind', 'user_id', 'scopes', 'token_hint', 'created_at', 'expires_at', 'last_used_at', 'last_used_ips', 'revoked_at',
  'revoke_reason', 'previous_personal_access_token_id', 'duplicated_from_id', 'template_id', 'converted_from_id', 'conversion_grace_ends_at',
] as const satisfies readonly (keyof TokenRow)[]
export type PresentedRow = Pick<TokenRow, (typeof PRESENTED_FIELDS)[number]>

/** What a page of tokens needs besides its rows, in one call (tokens/facts.ts). */
async function presentationFacts(db: Db, rows: PresentedRow[], view?: RemovalView) {
  const ids = rows.map((r) => r.id)
  const facts = await tokenFacts(db, { scopesOf: ids, removalsOf: ids, view, conversionsOf: rows })
  const scopes = new Map<number, TokenScopeRow[]>(ids.map((id) => [id, []]))
  const kinds = new Map<number, NamespaceKind>()
  for (const { namespace_kind, ...scope } of facts.scopes) {
    scopes.get(scope.token_id)?.push(scope)
    if (scope.namespace_id !== null && namespace_kind !== null) kinds.set(scope.namespace_id, namespace_kind)
  }
  return { scopes, kinds, removals: groupRemovals(ids, facts.removals), conversions: conversionLinksFrom(facts) }
}

/** `view`: whose eyes (a group's inventory sees only the removals on its own path). */
export async function presentTokens(db: Db, rows: PresentedRow[], now: Date, view?: RemovalView): Promise<TokenBody[]> {
  if (rows.length === 0) return []
  const { scopes, kinds, removals, conversions } = await presentationFacts(db, rows, view)
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
