// Authenticates a personal access token presented as the caller (PRIVATE-TOKEN or Bearer).
import type { Db } from '../db/index.js'
import type { TokenRow, TokenScopeRow, UserRow } from '../db/types.js'
import { tokenState } from '../domain/dates.js'
import { candidateDigests, isWellFormedToken } from '../domain/token-format.js'

export type PatLookup =
  | { ok: true; token: TokenRow; scopes: TokenScopeRow[]; user: UserRow }
  | { ok: false; reason: 'malformed_token' | 'token_not_found' | 'token_revoked' | 'token_expired' | 'user_inactive'; rotatedAway?: RotatedAway }

/** A secret that rotation replaced: when, and by whom (`token:<its own id>` for a self-rotation). */
export interface RotatedAway {
  id: number
  family_id: number | null
  revokedAt: Date
  revokedBy: string | null
}

export async function lookupTokenBySecret(db: Db, peppers: readonly string[], secret: string, now: Date): Promise<PatLookup> {
  if (!isWellFormedToken(secret)) return { ok: false, reason: 'malformed_token' }
  const token = await db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('token_digest', 'in', candidateDigests(peppers, secret))
    .executeTakeFirst()
  if (!token) return { ok: false, reason: 'token_not_found' }
  const state = tokenState(token, now)
  if (state === 'revoked') {
    const rotatedAway = token.revoke_reason === 'rotated' && token.revoked_at ? { id: token.id, family_id: token.family_id, revokedAt: token.revoked_at, revokedBy: token.revoked_by } : undefined
    return { ok: false, reason: 'token_revoked', ...(rotatedAway ? { rotatedAway } : {}) }
  }
  if (state === 'expired') return { ok: false, reason: 'token_expired' }
  const user = await db.selectFrom('users').selectAll().where('id', '=', token.user_id).executeTakeFirstOrThrow()
  if (user.state !== 'active') return { ok: false, reason: 'user_inactive' }
  const scopes = await db.selectFrom('personal_access_token_scopes').selectAll().where('token_id', '=', token.id).execute()
  return { ok: true, token, scopes, user }
}
