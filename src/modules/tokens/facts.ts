// What the API shows of tokens besides their rows, from one call of fgpat_token_facts (migration
// 0019, a PL/pgSQL function so that PostgreSQL keeps its plan across requests): the scopes with
// their namespaces' kinds, the group access removals a viewer may see, and the conversion links.
// Each part is asked for by its own ids and skipped when they are empty. Parts arrive as JSON:
// timestamps as text.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { TokenRow, TokenScopeRow } from '../../db/types.js'

/** Which removals a viewer is shown: all of them, or only those on a group's path (itself, its ancestors, its subgroups). */
export type RemovalView = { group: { id: number; traversal_ids: number[] } } | undefined

export type NamespaceKind = 'group' | 'project' | 'user'
export type ScopeFact = TokenScopeRow & { namespace_kind: NamespaceKind | null }
export type RemovalFact = { token_id: number; group_id: number; full_path: string; removed_by: string; username: string | null; removed_at: string; reason: string | null }
export type ConversionRow = Pick<TokenRow, 'id' | 'kind' | 'converted_from_id'>

export interface FactsAsked {
  /** Tokens whose scopes are wanted. */
  scopesOf?: number[]
  /** Tokens whose removals are wanted, as `view` may see them. */
  removalsOf?: number[]
  view?: RemovalView
  /** Rows whose conversion links are wanted: a legacy token's successor, a successor's replaced token. */
  conversionsOf?: ConversionRow[]
}

export interface TokenFacts {
  scopes: ScopeFact[]
  removals: RemovalFact[]
  successors: { id: number; converted_from_id: number }[]
  replaced: { id: number; conversion_grace_ends_at: string | null }[]
}

export async function tokenFacts(db: Db | Trx, asked: FactsAsked): Promise<TokenFacts> {
  const conversions = asked.conversionsOf ?? []
  const legacyIds = conversions.flatMap((r) => (r.kind === 'legacy' ? [r.id] : []))
  const fromIds = conversions.flatMap((r) => (r.converted_from_id !== null ? [r.converted_from_id] : []))
  const group = asked.view?.group
  const { rows } = await sql<TokenFacts>`select * from fgpat_token_facts(${asked.scopesOf ?? []}::bigint[], ${asked.removalsOf ?? []}::bigint[],
    ${group?.id ?? null}::bigint, ${group?.traversal_ids ?? null}::bigint[], ${legacyIds}::bigint[], ${fromIds}::bigint[])`.execute(db)
  return rows[0]
}

/** The conversion links as maps: legacy token → its successor, replaced token → its grace end. */
export function conversionLinksFrom(facts: Pick<TokenFacts, 'successors' | 'replaced'>) {
  return {
    successorOf: new Map(facts.successors.map((r) => [r.converted_from_id, r.id])),
    graceOf: new Map(facts.replaced.map((r) => [r.id, r.conversion_grace_ends_at === null ? null : new Date(r.conversion_grace_ends_at)])),
  }
}
