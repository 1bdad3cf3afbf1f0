// Directory sync: idempotent upserts of users, namespaces and memberships, each audited in the
// same transaction. Changes that affect decisions bump versions (users, namespaces) so caches can
// tell stale entries apart.
import type { CacheKey } from '../../cache/policy-cache.js'
import type { Db, Trx } from '../../db/index.js'
import type { NamespaceRow } from '../../db/types.js'
import { AppError, notFound } from '../../http/errors.js'
import { inSlices, LoopBudget, yieldToLoop } from '../../http/yield.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { userKindProblem } from '../../domain/service-accounts.js'
import { checkSubtreeFits, parentsFirst, planNamespace } from './plan.js'
import * as repo from './repository.js'
import type { BulkInput, MembershipInput, NamespaceInput, UserInput } from './schemas.js'

/** Rows per INSERT: building a statement of 500 rows takes a few milliseconds, 1,000 took tens. */
const BATCH = 500
/**
 * Cache keys refreshed per call after a bulk load: each call sends two Redis commands per key in
 * one pipeline (and this instance receives each key back on the invalidation channel); 200 keys
 * take a few milliseconds, 100,000 at once held the event loop for seconds.
 */
const INVALIDATE_SLICE = 200

function isUniqueViolation(err: unknown): err is { code: string; constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505'
}

function conflict(err: unknown): never {
  if (isUniqueViolation(err)) {
    if (err.constraint === 'namespaces_user_owner') throw new AppError(409, 'conflict', 'This user already has a personal (kind user) namespace')
    const what = err.constraint?.includes('username') ? 'username' : err.constraint?.includes('full_path') ? 'full path' : 'value'
    throw new AppError(409, 'conflict', `Another record already uses this ${what}`)
  }
  throw err
}

/** Users whose personal namespace appeared, changed hands or left them. */
function personalOwnersChanged(existing: { owner_id: number | null } | undefined, next: { kind: string; owner_id: number | null }): number[] {
  if (next.kind !== 'user' || existing?.owner_id === next.owner_id) return []
  return [existing?.owner_id, next.owner_id].filter((id): id is number => typeof id === 'number')
}

function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Called after a committed change with the cache entries it affected (see src/cache). */
export type Invalidate = (keys: CacheKey[]) => Promise<void>
const userKeys = (ids: Iterable<number>): CacheKey[] => [...new Set(ids)].map((userId) => ({ kind: 'acc', userId }))
const namespaceKeys = (ids: Iterable<number>): CacheKey[] => [...new Set(ids)].map((id) => ({ kind: 'ns', id }))

const invalidUser = (path: string, message: string) => new AppError(400, 'invalid_user', `${path}: ${message}`, [{ path, message }])

const userValues = (id: number, u: UserInput): repo.UserValues => ({
  id, username: u.username, name: u.name, email: u.email, state: u.state ?? 'active', is_admin: u.is_admin ?? false,
  kind: u.kind ?? 'human', service_account_group_id: u.service_account_group_id ?? null,
})

/** A service account's owner must be a top-level group (checked after a bulk load placed its namespaces). */
async function requireOwningGroups(trx: Trx, users: UserInput[], at: (index: number) => string) {
  const groups = [...new Set(users.flatMap((u) => (u.service_account_group_id ? [u.service_account_group_id] : [])))]
  const wrong = await repo.notTopLevelGroups(trx, groups)
  const i = users.findIndex((u) => u.service_account_group_id && wrong.has(u.service_account_group_id))
  if (i >= 0) throw invalidUser(at(i), `group ${users[i].service_account_group_id} is not a top-level group (service accounts belong to one)`)
}

export function createDirectoryService(db: Db, invalidate: Invalidate = async () => undefined) {
  async function putUser(id: number, input: UserInput, ctx: AuditContext) {
    const problem = userKindProblem(id, input)
    if (problem) throw invalidUser(problem.field === 'id' ? 'params.id' : `body.${problem.field}`, problem.message)
    return db
      .transaction()
      .execute(async (trx) => {
        await requireOwningGroups(trx, [input], () => 'body.service_account_group_id')
        const [user] = await repo.upsertUsers(trx, [userValues(id, input)])
        await recordAuditEvent(trx, audit(ctx, 'directory.user_upserted', { type: 'user', id }, { state: user.state, is_admin: user.is_admin, ...(user.kind === 'service_account' ? { kind: user.kind, service_account_group_id: user.service_account_group_id } : {}) }))
        return user
      })
      .catch(conflict)
      .then(async (user) => {
        await invalidate(userKeys([id]))
        return user
      })
  }

  async function placeNamespace(trx: Trx, id: number, input: NamespaceInput, at: string, known?: Map<number, NamespaceRow>) {
    const ids = [id, ...(input.parent_id ? [input.parent_id] : [])]
    const found = await repo.findNamespaces(trx, ids, true)
    const existing = found.get(id)
    const parent = input.parent_id ? (known?.get(input.parent_id) ?? found.get(input.parent_id)) : undefined
    const ownerExists = input.owner_id ? (await repo.findUser(trx, input.owner_id)) !== undefined : false
    const values = planNamespace(id, input, existing, parent, ownerExists, at)
    if (existing && values.kind === 'project' && (await repo.hasChildren(trx, id))) {
      throw new AppError(400, 'invalid_namespace', `${at}: namespace ${id} has children and cannot be a project`)
    }
    const moved = existing !== undefined && existing.full_path !== values.full_path
    if (moved) checkSubtreeFits(existing, values, await repo.subtreeExtent(trx, id), at)
    const [row] = await repo.upsertNamespaceRows(trx, [values])
    const owners = personalOwnersChanged(existing, values)
    // the owner's cached standing includes their personal namespace
    if (owners.length > 0) await repo.bumpUserVersions(trx, owners)
    const descendants = moved
      ? await repo.rewriteDescendants(trx, id, { full_path: existing.full_path, depth: existing.traversal_ids.length }, row)
      : []
    return { row, moved, descendants, previous: existing, owners }
  }

  async function putNamespace(id: number, input: NamespaceInput, ctx: AuditContext) {
    let affected: CacheKey[] = []
    const row = await db
      .transaction()
      .execute(async (trx) => {
        const { row, moved, descendants, previous, owners } = await placeNamespace(trx, id, input, 'body')
        affected = [namespaceKeys([id, ...descendants.map((d) => d.id)]), userKeys(owners)].flat()
        await recordAuditEvent(
          trx,
          audit(ctx, previous ? 'directory.namespace_updated' : 'directory.namespace_created', { type: 'namespace', id }, {
            full_path: row.full_path,
            ...(moved ? { previous_full_path: previous?.full_path, descendants_moved: descendants.length } : {}),
          }, id),
        )
        return row
      })
      .catch(conflict)
    await invalidate(affected)
    return row
  }

  // One statement each (repo.putMembership, repo.removeMembership): the membership, its user's
  // version and the audit event, where a transaction took five to seven round trips.
  async function putMembership(namespaceId: number, userId: number, input: MembershipInput, ctx: AuditContext) {
    const put = await repo.putMembership(db, { user_id: userId, namespace_id: namespaceId, access_level: input.access_level, expires_at: input.expires_at ?? null }, ctx)
    if (put.missing !== null) throw notFound(put.missing === 'user' ? `User ${userId}` : `Namespace ${namespaceId}`)
    await invalidate(userKeys([userId]))
    return put.membership
  }

  async function removeMembership(namespaceId: number, userId: number, ctx: AuditContext) {
    const removed = await repo.removeMembership(db, userId, namespaceId, ctx)
    if (removed) await invalidate(userKeys([userId]))
    return removed !== undefined
  }

  async function rejectDuplicates<T>(list: T[], field: string, key: (item: T) => string, property?: string) {
    const seen = new Set<string>()
    await inSlices(list, (item, i) => {
      const k = key(item)
      const path = `body.${field}[${i}]${property ? `.${property}` : ''}`
      if (seen.has(k)) throw new AppError(400, 'duplicate_in_payload', `${path}: appears twice in the payload`, [{ path, message: 'appears twice in the payload' }])
      seen.add(k)
    })
  }

  // A bulk holds up to 50,000 of each kind: work over all of them is done a slice of time at a
  // time (inSlices, LoopBudget) and written in batches, so no step holds the event loop for long
  // and every request waiting meanwhile (each /authorize) waits for one slice at most.
  async function bulkLoad(input: BulkInput, ctx: AuditContext) {
    const users = input.users ?? []
    const namespaces = input.namespaces ?? []
    const memberships = input.memberships ?? []
    await inSlices(users, (u, i) => {
      const problem = userKindProblem(u.id, u)
      if (problem) throw invalidUser(`body.users[${i}].${problem.field}`, problem.message)
    })
    await rejectDuplicates(users, 'users', (u) => String(u.id))
    // usernames are unique case-insensitively; two ids with one username would otherwise be a 409
    await rejectDuplicates(users, 'users', (u) => u.username.toLowerCase(), 'username')
    await rejectDuplicates(namespaces, 'namespaces', (n) => String(n.id))
    await rejectDuplicates(memberships, 'memberships', (m) => `${m.user_id}:${m.namespace_id}`)
    const touchedUsers = new Set<number>(users.map((u) => u.id))
    const touchedNamespaces = new Set<number>(namespaces.map((n) => n.id))
    const counts = await db
      .transaction()
      .execute(async (trx) => {
        for (const batch of chunks(users)) {
          await repo.upsertUserBatch(trx, batch.map((u) => userValues(u.id, u)))
        }
        await loadNamespaces(trx, namespaces, touchedNamespaces, touchedUsers)
        await requireOwningGroups(trx, users, (i) => `body.users[${i}].service_account_group_id`)
        const memberUserIds = [...new Set(memberships.map((m) => m.user_id))]
        const knownUsers = await repo.findExistingUserIds(trx, memberUserIds)
        const knownNamespaces = await repo.findExistingNamespaceIds(trx, [...new Set(memberships.map((m) => m.namespace_id))])
        await inSlices(memberships, (m, i) => {
          if (!knownUsers.has(m.user_id)) throw new AppError(400, 'invalid_membership', `body.memberships[${i}].user_id: user ${m.user_id} does not exist`, [{ path: `body.memberships[${i}].user_id`, message: `user ${m.user_id} does not exist` }])
          if (!knownNamespaces.has(m.namespace_id)) throw new AppError(400, 'invalid_membership', `body.memberships[${i}].namespace_id: namespace ${m.namespace_id} does not exist`, [{ path: `body.memberships[${i}].namespace_id`, message: `namespace ${m.namespace_id} does not exist` }])
        })
        const changedUsers = new Set<number>()
        for (const batch of chunks(memberships)) {
          const changed = await repo.upsertMembershipBatch(trx, batch.map((m) => ({ ...m, expires_at: m.expires_at ?? null })))
          for (const userId of changed) changedUsers.add(userId)
        }
        await repo.bumpUserVersions(trx, [...changedUsers])
        for (const u of changedUsers) touchedUsers.add(u)
        const counts = { users: users.length, namespaces: namespaces.length, memberships: memberships.length }
        await recordAuditEvent(trx, audit(ctx, 'directory.bulk_loaded', { type: 'directory', id: null }, counts))
        return counts
      })
      .catch(conflict)
    await invalidateInSlices(touchedUsers, touchedNamespaces)
    return counts
  }

  async function invalidateInSlices(users: Set<number>, namespaces: Set<number>) {
    for (const [ids, keys] of [[[...users], userKeys], [[...namespaces], namespaceKeys]] as const) {
      for (let i = 0; i < ids.length; i += INVALIDATE_SLICE) await invalidate(keys(ids.slice(i, i + INVALIDATE_SLICE)))
    }
  }

  // New namespaces are planned in memory and inserted in batches; an existing namespace whose place
  // changes goes through placeNamespace so its descendants follow it.
  async function loadNamespaces(trx: Trx, items: NonNullable<BulkInput['namespaces']>, touched: Set<number>, touchedUsers: Set<number>) {
    if (items.length === 0) return
    const ordered = parentsFirst(items)
    await yieldToLoop()
    const index = new Map<number, number>()
    const referenced = new Set<number>()
    const ownerIds = new Set<number>()
    await inSlices(items, (n, i) => {
      index.set(n.id, i)
      referenced.add(n.id)
      if (n.parent_id) referenced.add(n.parent_id)
      if (n.owner_id) ownerIds.add(n.owner_id)
    })
    const known = await repo.findNamespaces(trx, [...referenced], true)
    const owners = await repo.findExistingUserIds(trx, [...ownerIds])
    let pending: repo.NamespaceValues[] = []
    const flush = async () => {
      for (const batch of chunks(pending)) await repo.upsertNamespaceBatch(trx, batch)
      pending = []
    }
    const budget = new LoopBudget()
    const plannedAt = new Date() // one instance for the 50,000 planned rows: less for the GC to trace
    for (const item of ordered) {
      await budget.pause()
      const at = `body.namespaces[${index.get(item.id)}]`
      const existing = known.get(item.id)
      const parent = item.parent_id ? known.get(item.parent_id) : undefined
      const values = planNamespace(item.id, item, existing, parent, item.owner_id ? owners.has(item.owner_id) : false, at)
      if (existing && existing.full_path !== values.full_path) {
        await flush()
        const { row, descendants, owners: changedOwners } = await placeNamespace(trx, item.id, item, at, known)
        known.set(row.id, row)
        for (const d of descendants) touched.add(d.id)
        for (const o of changedOwners) touchedUsers.add(o)
        // the move rewrote its descendants: later rows placed under one of them must see its new place
        for (const d of descendants) if (known.has(d.id)) known.set(d.id, d)
      } else {
        const owners = personalOwnersChanged(existing, values)
        if (owners.length > 0) await repo.bumpUserVersions(trx, owners)
        for (const o of owners) touchedUsers.add(o)
        pending.push(values)
        known.set(values.id, { ...values, version: 1, created_at: plannedAt, updated_at: plannedAt })
      }
    }
    await flush()
  }

  return { putUser, putNamespace, putMembership, removeMembership, bulkLoad }
}

export type DirectoryService = ReturnType<typeof createDirectoryService>
