// Reading the audit log: administrators see every event, group owners the events that concern their
// group: those of the group and everything below it, and every event about a token that reached
// the group when it happened, directly or through a group above it (audit_event_groups, written by
// a trigger: migrations 0007 and 0009). Keyset pagination on id (newest first): stable while new
// events arrive.
import { type InferResult, sql } from 'kysely'
import type { Caller } from '../../auth/caller.js'
import type { Db } from '../../db/index.js'
import { parseTimestamp } from '../../domain/calendar.js'
import type { Clock } from '../../domain/dates.js'
import { AppError } from '../../http/errors.js'
import { manageableGroup } from '../policies/access.js'
import { isAdminCaller } from '../tokens/access.js'

export interface AuditQuery {
  actor_type?: string
  actor_id?: string
  action?: string
  target_type?: string
  target_id?: string
  created_after?: string
  created_before?: string
  before_id?: number
  per_page?: number
}

function parseTime(value: string | undefined, path: string): Date | undefined {
  if (value === undefined) return undefined
  const d = parseTimestamp(value)
  if (d === undefined) throw new AppError(400, 'validation_failed', `${path}: "${value}" is not an ISO 8601 date or date-time`, [{ path, message: 'is not an ISO 8601 date or date-time' }])
  return d
}

export function createAuditLogService(deps: { db: Db; clock: Clock }) {
  /**
   * One page of events. A group's log is its own tags, plus the tags of each group above it that
   * its token reached itself (`reached`, migration 0009: a token scoped on acme reaches
   * acme/platform; one scoped on acme/other is tagged on acme too, but not reached there).
   */
  async function query(q: AuditQuery, group: { id: number; traversal_ids: number[] } | undefined) {
    const perPage = q.per_page ?? 20
    const after = parseTime(q.created_after, 'query.created_after')
    const before = parseTime(q.created_before, 'query.created_before')
    const events = (tags?: { groupId: number; reachedOnly: boolean }) => {
      // A group's tags are walked backwards ((group_id, event_id): the primary key, or its
      // reached-only partial index) and the walk stops once a page is full, however long the history.
      let sel = (tags === undefined
        ? deps.db.selectFrom('audit_events')
        : deps.db.selectFrom('audit_events').innerJoin('audit_event_groups as g', (j) => {
          const own = j.onRef('g.event_id', '=', 'audit_events.id').on('g.group_id', '=', tags.groupId)
          return tags.reachedOnly ? own.on(sql<boolean>`g.reached`) : own
        })
      ).select(['id', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'namespace_id', 'details', 'ip', 'request_id'])
      if (q.actor_type) sel = sel.where('actor_type', '=', q.actor_type)
      if (q.actor_id) sel = sel.where('actor_id', '=', q.actor_id)
      // "token." matches every token action: a trailing dot is a prefix.
      if (q.action) sel = q.action.endsWith('.') ? sel.where('action', 'like', `${q.action.replace(/[%_\\]/g, '\\$&')}%`) : sel.where('action', '=', q.action)
      if (q.target_type) sel = sel.where('target_type', '=', q.target_type)
      if (q.target_id) sel = sel.where('target_id', '=', q.target_id)
      if (after) sel = sel.where('occurred_at', '>=', after)
      if (before) sel = sel.where('occurred_at', '<', before)
      // A group's log orders by its tag (the same id) so that the plan follows that index.
      const order = sql.ref<number>(tags === undefined ? 'audit_events.id' : 'g.event_id')
      if (q.before_id !== undefined) sel = sel.where(order, '<', q.before_id)
      return sel.orderBy(order, 'desc').limit(perPage + 1)
    }
    type Row = InferResult<ReturnType<typeof events>>[number]
    let rows: Row[]
    const above = group?.traversal_ids.filter((id) => id !== group.id) ?? []
    if (group === undefined) rows = await events().execute()
    else if (above.length === 0) rows = await events({ groupId: group.id, reachedOnly: false }).execute()
    else {
      // One page from each range (each one index walk with its own limit), merged: the newest
      // perPage + 1 distinct events overall are among the newest perPage + 1 of each range. UNION
      // drops an event tagged in two of them. (A single query over all the ranges made PostgreSQL
      // read every range whole to remove the duplicates.)
      const ranges = [events({ groupId: group.id, reachedOnly: false }), ...above.map((id) => events({ groupId: id, reachedOnly: true }))]
      const merged = await sql<Row>`select * from (${sql.join(ranges.map((r) => sql`(${r})`), sql` union `)}) page order by id desc limit ${perPage + 1}`.execute(deps.db)
      rows = merged.rows
    }
    const page = rows.slice(0, perPage)
    return {
      nextBeforeId: rows.length > perPage ? page[page.length - 1].id : null,
      items: page.map((r) => ({
        id: r.id, occurred_at: r.occurred_at.toISOString(), actor: { type: r.actor_type, id: r.actor_id }, action: r.action,
        target: { type: r.target_type, id: r.target_id }, namespace_id: r.namespace_id, details: r.details, ip: r.ip, request_id: r.request_id,
      })),
    }
  }

  return {
    instance: async (caller: Caller, q: AuditQuery) => {
      if (!isAdminCaller(caller)) throw new AppError(403, 'admin_required', 'The instance audit log is for administrators; group owners read /groups/:id/audit_events')
      return query(q, undefined)
    },
    group: async (caller: Caller, groupId: number, q: AuditQuery) => {
      const group = await manageableGroup(deps.db, caller, groupId, deps.clock(), 'read_group_audit_events')
      return query(q, group)
    },
  }
}
