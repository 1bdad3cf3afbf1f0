// Who may read or change a policy. Instance settings: administrators. A group policy: owners of the
// top-level group (access level 50) and administrators; to anyone else the group does not exist.
import { type Caller, callerUser } from '../../auth/caller.js'
import type { Db } from '../../db/index.js'
import { utcDate } from '../../domain/dates.js'
import { expandPermissions, legacyScopePermissions } from '../../domain/permissions/index.js'
import { AppError, notFound } from '../../http/errors.js'
import { isAdminCaller } from '../tokens/access.js'
import { removedOnPath } from '../tokens/removals.js'
import * as repo from './repository.js'

export { isAdminCaller }

export function requireAdmin(caller: Caller, what: string): void {
  if (!isAdminCaller(caller)) throw new AppError(403, 'admin_required', `${what} are for administrators`)
}

/** A PAT caller also needs its token to grant `permission` on the group (a token never exceeds its scopes). */
function tokenGrants(caller: Caller, permission: string, traversal: number[]): boolean {
  if (caller.kind !== 'token') return true
  if (caller.token.kind === 'legacy') return caller.token.scopes.some((s) => legacyScopePermissions(s)?.has(permission))
  return caller.tokenScopes.some(
    (s) => (s.access === 'all_memberships' || (s.access === 'selected_memberships' && s.namespace_id !== null && traversal.includes(s.namespace_id))) &&
      expandPermissions(s.permissions).has(permission),
  )
}

export type ManagedGroup = NonNullable<Awaited<ReturnType<typeof repo.findNamespace>>>

/** The group, when the caller owns it (or an ancestor) or is an administrator; 404 otherwise. */
export async function manageableGroup(db: Db, caller: Caller, groupId: number, now: Date, tokenPermission: string): Promise<ManagedGroup> {
  const admin = isAdminCaller(caller)
  const user = admin ? undefined : callerUser(caller)
  if (!admin && !user) throw notFound(`Group ${groupId}`)
  const found = await repo.findNamespaceWithLevel(db, groupId, user?.id, utcDate(now))
  if (!found || found.ns.kind !== 'group') throw notFound(`Group ${groupId}`)
  const ns = found.ns
  if (!admin) {
    if (found.level < 50) throw notFound(`Group ${groupId}`)
    if (!tokenGrants(caller, tokenPermission, ns.traversal_ids)) {
      throw new AppError(403, 'insufficient_scope', `The token needs the "${tokenPermission}" permission on this group`)
    }
  }
  // A token whose access to this group was removed cannot manage it either, as /authorize would say.
  if (caller.kind === 'token' && (await removedOnPath(db, caller.token.id, ns.traversal_ids))) {
    throw new AppError(403, 'access_removed_by_group', 'The owners of this group removed this token\'s access to it; use another token or ask them to restore it')
  }
  return ns
}

/**
 * A group its caller manages that must be top-level (policies and approval requests live there):
 * a subgroup is a 400 naming its top-level group and where to ask instead.
 */
export async function manageableTopLevelGroup(db: Db, caller: Caller, groupId: number, now: Date, tokenPermission: string, what: { living: string; route: string; subject: string; verb: string }): Promise<ManagedGroup> {
  const group = await manageableGroup(db, caller, groupId, now, tokenPermission)
  if (group.parent_id !== null) {
    const root = group.traversal_ids[0]
    throw new AppError(400, 'not_top_level_group', `${what.living} live on the top-level group: group ${groupId} is a subgroup; use /groups/${root}/${what.route}`, [
      { path: 'params.id', message: `is a subgroup; the ${what.subject} of its top-level group ${root} ${what.verb} to it` },
    ])
  }
  return group
}
