// Token templates: built-in (read-only), instance (admins), group (owners) and personal. Each change
// is audited in its transaction. Creating a token from a template fills its scopes (and default
// lifetime) here; the token service still validates them against the owner and policy.
import { sql } from 'kysely'
import { actorOf, type Caller, callerUser } from '../../auth/caller.js'
import { isUniqueViolation } from '../../db/errors.js'
import type { Db } from '../../db/index.js'
import type { UserRow } from '../../db/types.js'
import { type Clock, utcDate } from '../../domain/dates.js'
import { checkScopeShapes, type GranularScopeRequest, toListShape } from '../../domain/scopes.js'
import { AppError, invalidField, notFound } from '../../http/errors.js'
import { type AuditContext, audit, recordAuditEvent } from '../audit/service.js'
import { isAdminCaller } from '../tokens/access.js'
import { BUILTIN_TEMPLATES, FIRST_STORED_TEMPLATE_ID, type TemplateDefinition } from './builtins.js'
import * as repo from './repository.js'
import type { CreateTemplateInput, TemplateBody, UpdateTemplateInput } from './schemas.js'

const TARGET = 'token_template'

const nameTaken = (name: string) => new AppError(409, 'template_name_taken', `body.name: "${name}" is taken by another template of the same owner`, [{ path: 'body.name', message: 'is taken' }])

/** The name check runs before the write; a request racing past it meets the unique index, which is the same answer. */
const takenMeanwhile = (name: string) => (err: unknown): never => {
  if (isUniqueViolation(err, 'token_templates_name')) throw nameTaken(name)
  throw err
}

const presentBuiltin = (t: TemplateDefinition): TemplateBody => ({ ...t, owner_type: 'builtin', owner_id: null, read_only: true })
const present = (r: repo.TemplateRow): TemplateBody => ({
  id: r.id, owner_type: r.owner_type, owner_id: r.owner_id, name: r.name, description: r.description,
  granular_scopes: r.granular_scopes as TemplateBody['granular_scopes'], default_lifetime_days: r.default_lifetime_days, read_only: false,
})

/**
 * Template scopes may leave selected_memberships without ids (filled at token creation). They are
 * kept in the request shape (group_ids / project_ids lists) whichever shape they came in: a template
 * is a request to be completed, and GitLab's per-target response shape has no way to say "targets
 * still to choose" (both ids null means an access without targets there).
 */
function validTemplateScopes(scopes: GranularScopeRequest[]) {
  const problems = checkScopeShapes(scopes).filter((p) => p.code !== 'missing_resources')
  if (problems.length > 0) {
    throw new AppError(400, problems[0].code, problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems.map(({ path, message }) => ({ path, message })))
  }
  return scopes.map(toListShape)
}

export function createTemplateService(deps: { db: Db; clock: Clock }) {
  const { db } = deps
  const today = () => utcDate(deps.clock())
  const by = (caller: Caller) => `${actorOf(caller).type}:${actorOf(caller).id}`

  async function ownsGroup(caller: Caller, groupId: number): Promise<boolean> {
    if (isAdminCaller(caller)) return true
    const user = callerUser(caller)
    if (!user) return false
    const { rows } = await sql<{ level: number | null }>`select max(m.access_level) as level from memberships m join namespaces g on g.id = ${groupId}
      where m.user_id = ${user.id} and m.namespace_id = any(g.traversal_ids) and g.kind = 'group'
        and (m.expires_at is null or m.expires_at > ${today()}::date)`.execute(db)
    return Number(rows[0]?.level ?? 0) >= 50
  }

  async function canManage(caller: Caller, row: repo.TemplateRow): Promise<boolean> {
    if (row.owner_type === 'instance') return isAdminCaller(caller)
    if (row.owner_type === 'group') return ownsGroup(caller, row.owner_id!)
    return isAdminCaller(caller) || callerUser(caller)?.id === row.owner_id
  }

  async function usableBy(user: UserRow | undefined, row: repo.TemplateRow): Promise<boolean> {
    if (row.owner_type === 'instance') return true
    if (!user) return false
    if (row.owner_type === 'user') return row.owner_id === user.id
    return (await repo.memberGroupIds(db, user.id, today())).includes(row.owner_id!)
  }

  async function list(caller: Caller, q: { owner_type?: string; group_id?: number }) {
    const user = callerUser(caller)
    const groups = user ? await repo.memberGroupIds(db, user.id, today()) : []
    const all = [...BUILTIN_TEMPLATES.map(presentBuiltin), ...(await repo.listTemplates(db, user?.id ?? null, groups)).map(present)]
    return all.filter((t) => (!q.owner_type || t.owner_type === q.owner_type) && (q.group_id === undefined || (t.owner_type === 'group' && t.owner_id === q.group_id)))
  }

  /** A stored template the caller may change; built-ins are read-only, others' are 404. */
  async function manageable(caller: Caller, id: number, trx: Parameters<typeof repo.findTemplate>[0]) {
    if (id < FIRST_STORED_TEMPLATE_ID && BUILTIN_TEMPLATES.some((t) => t.id === id)) {
      throw new AppError(400, 'template_read_only', `Template ${id} is built in and cannot be changed; create your own from it`)
    }
    const row = await repo.findTemplate(trx, id, true)
    if (!row || !(await canManage(caller, row))) throw notFound(`Template ${id}`)
    return row
  }

  async function create(caller: Caller, input: CreateTemplateInput, ctx: AuditContext) {
    const ownerType = input.owner_type ?? 'user'
    let ownerId: number | null = null
    if (ownerType === 'instance') {
      if (!isAdminCaller(caller)) throw new AppError(403, 'admin_required', 'Instance templates are for administrators')
    } else if (ownerType === 'group') {
      if (input.group_id === undefined) throw invalidField('body.group_id', 'is required for a group template')
      if (!(await ownsGroup(caller, input.group_id))) throw notFound(`Group ${input.group_id}`)
      ownerId = input.group_id
    } else {
      const user = callerUser(caller)
      if (!user) throw new AppError(400, 'user_required', 'A service cannot own personal templates; use owner_type instance or group')
      ownerId = user.id
    }
    if (ownerType !== 'group' && input.group_id !== undefined) throw invalidField('body.group_id', 'is only for owner_type group')
    const granularScopes = validTemplateScopes(input.granular_scopes)
    const name = input.name.trim()
    if (!name) throw invalidField('body.name', 'must not be blank')
    const row = await db.transaction().execute(async (trx) => {
      if (await repo.nameTaken(trx, ownerType, ownerId, name, 0)) throw nameTaken(name)
      const inserted = await repo.insertTemplate(trx, {
        owner_type: ownerType, owner_id: ownerId, name, description: input.description ?? null,
        granular_scopes: granularScopes, default_lifetime_days: input.default_lifetime_days ?? null, created_by: by(caller),
      })
      await recordAuditEvent(trx, audit(ctx, 'template.created', { type: TARGET, id: inserted.id }, { name, owner_type: ownerType, owner_id: ownerId }, ownerType === 'group' ? ownerId : null))
      return inserted
    }).catch(takenMeanwhile(name))
    return present(row)
  }

  async function update(caller: Caller, id: number, rawInput: UpdateTemplateInput, ctx: AuditContext) {
    const input = rawInput.granular_scopes ? { ...rawInput, granular_scopes: validTemplateScopes(rawInput.granular_scopes) } : rawInput
    const row = await db.transaction().execute(async (trx) => {
      const current = await manageable(caller, id, trx)
      const next = { ...current, ...input, name: input.name?.trim() ?? current.name }
      if (!next.name) throw invalidField('body.name', 'must not be blank')
      if (await repo.nameTaken(trx, current.owner_type, current.owner_id, next.name, id)) throw nameTaken(next.name)
      const changed = Object.keys(input).filter((k) => JSON.stringify(current[k as keyof repo.TemplateRow]) !== JSON.stringify(next[k as keyof typeof next]))
      if (changed.length === 0) return current
      const updated = await repo.updateTemplate(trx, id, { name: next.name, description: next.description ?? null, granular_scopes: next.granular_scopes, default_lifetime_days: next.default_lifetime_days ?? null })
      const changes = Object.fromEntries(changed.map((k) => [k, { from: current[k as keyof repo.TemplateRow], to: updated[k as keyof repo.TemplateRow] }]))
      await recordAuditEvent(trx, audit(ctx, 'template.updated', { type: TARGET, id }, { name: updated.name, changes }, current.owner_type === 'group' ? current.owner_id : null))
      return updated
    }).catch(takenMeanwhile(input.name?.trim() ?? ''))
    return present(row)
  }

  async function remove(caller: Caller, id: number, ctx: AuditContext) {
    await db.transaction().execute(async (trx) => {
      const current = await manageable(caller, id, trx)
      await repo.deleteTemplate(trx, id)
      await recordAuditEvent(trx, audit(ctx, 'template.deleted', { type: TARGET, id }, { name: current.name, owner_type: current.owner_type, owner_id: current.owner_id }, current.owner_type === 'group' ? current.owner_id : null))
    })
  }

  /**
   * The scopes a token created from template `id` gets: ids missing from selected_memberships scopes
   * come from `targets`. A template the owner may not use is a 400 on body.template_id (no leak).
   */
  async function scopesForToken(owner: UserRow, id: number, targets: { group_ids?: number[]; project_ids?: number[] } | undefined) {
    const builtin = BUILTIN_TEMPLATES.find((t) => t.id === id)
    const row = builtin ? undefined : await repo.findTemplate(db, id)
    if (!builtin && (!row || !(await usableBy(owner, row)))) throw invalidField('body.template_id', `template ${id} does not exist or is not available to the token owner`, 'template_not_found')
    const template = builtin ?? present(row!)
    const needsTargets = template.granular_scopes.some((s) => s.access === 'selected_memberships' && !s.group_ids?.length && !s.project_ids?.length)
    if (needsTargets && !targets?.group_ids?.length && !targets?.project_ids?.length) {
      throw invalidField('body.template_targets', `template "${template.name}" applies to chosen groups or projects: give template_targets.group_ids or project_ids`, 'template_targets_required')
    }
    const granular_scopes = template.granular_scopes.map((s) =>
      s.access === 'selected_memberships' && !s.group_ids?.length && !s.project_ids?.length
        ? { ...s, ...(targets?.group_ids?.length ? { group_ids: targets.group_ids } : {}), ...(targets?.project_ids?.length ? { project_ids: targets.project_ids } : {}) }
        : s,
    )
    return { id: template.id, granular_scopes, defaultLifetimeDays: template.default_lifetime_days }
  }

  return { list, create, update, remove, scopesForToken }
}

export type TemplateService = ReturnType<typeof createTemplateService>
