// Who is calling: a service (JWT `sub` = service:<name>), a directory user (JWT `sub` = user id) or a
// personal access token acting for its owner.
import type { TokenRow, TokenScopeRow, UserRow } from '../db/types.js'
import { expandPermissions, legacyScopePermissions } from '../domain/permissions/index.js'

export interface ServiceCaller {
  kind: 'service'
  name: string
  scopes: Set<string>
}
export interface UserCaller {
  kind: 'user'
  user: UserRow
  scopes: Set<string>
}
export interface TokenCaller {
  kind: 'token'
  user: UserRow
  token: TokenRow
  tokenScopes: TokenScopeRow[]
  /** ADMIN_MODE was on when the token authenticated: a legacy token's admin reach then needs admin_mode. */
  adminMode?: boolean
}
export type Caller = ServiceCaller | UserCaller | TokenCaller

/** The actor string recorded in audit events and `revoked_by`. */
export function actorOf(caller: Caller): { type: string; id: string } {
  if (caller.kind === 'service') return { type: 'service', id: caller.name }
  if (caller.kind === 'user') return { type: 'user', id: String(caller.user.id) }
  return { type: 'token', id: String(caller.token.id) }
}

export function callerUser(caller: Caller): UserRow | undefined {
  return caller.kind === 'service' ? undefined : caller.user
}

/** Whether a caller's own token grants a user-boundary permission (token management by PAT). */
export function tokenCallerHolds(caller: TokenCaller, permission: string): boolean {
  if (caller.token.kind === 'legacy') {
    return caller.token.scopes.some((s) => legacyScopePermissions(s)?.has(permission))
  }
  return caller.tokenScopes.some((s) => s.access === 'user' && expandPermissions(s.permissions).has(permission))
}
