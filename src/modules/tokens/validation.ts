// Validates the scopes asked for a token against the catalog and the directory: known permissions
// grantable where asked, namespaces that exist and where the owner is a member, admin-only scopes.
import type { UserRow } from '../../db/types.js'
import type { Db } from '../../db/index.js'
import { AppError } from '../../http/errors.js'
import { getPermission, isAdminOnlyLegacyScope, isLegacyScope, LEGACY_SCOPES } from '../../domain/permissions/index.js'
import { closestName } from '../../domain/suggest.js'
import { checkScopeShapes, type GranularScopeRequest, normalizeScopes, type ScopeProblem, scopeTargets, type StoredScope } from '../../domain/scopes.js'
import { type NamespaceAccess, namespacesWithAccess } from './repository.js'

const LEVEL_NAMES: Record<number, string> = { 10: 'Guest', 15: 'Planner', 20: 'Reporter', 30: 'Developer', 40: 'Maintainer', 50: 'Owner' }

export interface RequestedScopes {
  scopes?: string[]
  granular_scopes?: GranularScopeRequest[]
}

export interface ScopeValidation {
  kind: 'fine_grained' | 'legacy'
  legacyScopes: string[]
  stored: StoredScope[]
  namespaces: Map<number, NamespaceAccess>
  problems: ScopeProblem[]
  warnings: string[]
}

export async function checkRequestedScopes(db: Db, owner: UserRow, input: RequestedScopes, today: string): Promise<ScopeValidation> {
  const result: ScopeValidation = { kind: 'fine_grained', legacyScopes: [], stored: [], namespaces: new Map(), problems: [], warnings: [] }
  const { problems, warnings } = result
  if (input.scopes !== undefined && input.granular_scopes !== undefined) {
    problems.push({ path: 'body.scopes', message: 'send either scopes (legacy) or granular_scopes (fine-grained), not both', code: 'scopes_conflict' })
    return result
  }
  if (input.scopes !== undefined) {
    result.kind = 'legacy'
    result.legacyScopes = [...new Set(input.scopes)]
    if (result.legacyScopes.length === 0) problems.push({ path: 'body.scopes', message: 'must contain at least one scope', code: 'empty_scopes' })
    input.scopes.forEach((s, i) => {
      if (isAdminOnlyLegacyScope(s) && !owner.is_admin) {
        problems.push({ path: `body.scopes[${i}]`, message: `"${s}" is for administrators; the token owner is not one`, code: 'scope_requires_admin' })
        return
      }
      if (isLegacyScope(s)) return
      const hint = closestName(s, LEGACY_SCOPES.map((l) => l.name))
      problems.push({ path: `body.scopes[${i}]`, message: `unknown scope "${s}"${hint ? `; did you mean "${hint}"?` : ''}`, code: 'unknown_scope' })
    })
    if (result.legacyScopes.includes('api')) {
      warnings.push('The api scope grants full read and write access to everything the owner can reach. Prefer granular_scopes with only the permissions this job needs.')
    }
    return result
  }
  if (input.granular_scopes === undefined) {
    problems.push({ path: 'body.granular_scopes', message: 'is required: name at least one scope (or legacy scopes)', code: 'empty_scopes' })
    return result
  }
  const scopes = input.granular_scopes
  problems.push(...checkScopeShapes(scopes))
  const ids = scopes.flatMap((s) => scopeTargets(s).map((target) => target.id))
  result.namespaces = await namespacesWithAccess(db, owner.id, ids, today)
  scopes.forEach((scope, i) => {
    const here = `body.granular_scopes[${i}]`
    if (scope.access === 'instance' && !owner.is_admin) {
      problems.push({ path: `${here}.access`, message: 'instance scopes are for administrators; the token owner is not one', code: 'instance_requires_admin' })
    }
    for (const { id, kind: want, field } of scopeTargets(scope)) {
      const ns = result.namespaces.get(id)
      const path = `${here}.${field}`
      if (!ns) {
        problems.push({ path, message: `${want} ${id} does not exist`, code: 'namespace_not_found' })
        continue
      }
      if (ns.kind !== want) {
        const hint = ns.kind === 'user' ? ' (a personal namespace: use access personal_projects)' : ''
        problems.push({ path, message: `${id} (${ns.full_path}) is a ${ns.kind}, not a ${want}${hint}`, code: 'namespace_kind_mismatch' })
        continue
      }
      if (ns.access_level === null) {
        problems.push({ path, message: `the token owner has no membership in ${ns.full_path} or its parents`, code: 'no_membership' })
        continue
      }
      for (const name of scope.permissions) {
        const p = getPermission(name)
        if (p && p.minAccessLevel > ns.access_level) {
          warnings.push(
            `${p.title} needs ${LEVEL_NAMES[p.minAccessLevel] ?? p.minAccessLevel} on ${ns.full_path}, where the owner is ${LEVEL_NAMES[ns.access_level] ?? ns.access_level}: the token cannot use it there until the owner's role allows it.`,
          )
        }
      }
    }
  })
  result.stored = normalizeScopes(scopes)
  return result
}

/** As checkRequestedScopes, but a problem is a 400 naming every field to fix. */
export async function requireValidScopes(db: Db, owner: UserRow, input: RequestedScopes, today: string): Promise<ScopeValidation> {
  const result = await checkRequestedScopes(db, owner, input, today)
  if (result.problems.length > 0) {
    const [first] = result.problems
    throw new AppError(
      400,
      first.code,
      result.problems.map((p) => `${p.path}: ${p.message}`).join('; '),
      result.problems.map(({ path, message }) => ({ path, message })),
    )
  }
  return result
}
