// Who may act on which token. Someone else's token is 404, never 403: no existence leak.
import { type Caller, callerUser } from '../../auth/caller.js'
import type { Db } from '../../db/index.js'
import type { TokenRow } from '../../db/types.js'
import { AppError, notFound } from '../../http/errors.js'
import { findToken } from './repository.js'

/**
 * Admin reach over every user's tokens: an admin user's JWT, a `tokens:admin` service, or an admin's
 * broad token (legacy `api`, plus `admin_mode` while ADMIN_MODE is on, as GitLab's Admin Mode; or a
 * fine-grained token with an instance scope). `sudo` alone gives no admin reach.
 */
export function isAdminCaller(caller: Caller): boolean {
  if (caller.kind === 'service') return caller.scopes.has('tokens:admin')
  if (!caller.user.is_admin) return false
  if (caller.kind === 'user') return true
  if (caller.token.kind !== 'legacy') return caller.tokenScopes.some((s) => s.access === 'instance')
  return caller.token.scopes.includes('api') && (!caller.adminMode || caller.token.scopes.includes('admin_mode'))
}

export function canSeeTokensOf(caller: Caller, userId: number): boolean {
  return isAdminCaller(caller) || callerUser(caller)?.id === userId
}

export async function visibleToken(db: Db, caller: Caller, id: number): Promise<TokenRow> {
  const token = await findToken(db, id)
  if (!token || !canSeeTokensOf(caller, token.user_id)) throw notFound(`Personal access token ${id}`)
  return token
}

/** The token a PAT caller authenticated with (`/self` endpoints). */
export function selfToken(caller: Caller): TokenRow {
  if (caller.kind !== 'token') {
    throw new AppError(400, 'token_caller_required', 'The /self endpoints describe the personal access token you authenticate with; send it as PRIVATE-TOKEN or Bearer')
  }
  return caller.token
}

export function revokeReasonFor(caller: Caller, token: TokenRow): string {
  const user = callerUser(caller)
  return user?.id === token.user_id ? 'owner' : 'admin'
}
