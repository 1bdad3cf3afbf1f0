// SQL for instance settings, group policies and the namespace facts enforcement needs.
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { NamespaceRow } from '../../db/types.js'
import type { ApprovalNotifications, PolicyValues, ReuseDetection } from '../../domain/policy.js'

type Q = Db | Trx

export type { PolicyValues }

/** Makes sure the single row exists (version 0: "not saved yet") and locks it. */
export async function lockInstanceSettings(trx: Trx, defaults: PolicyValues): Promise<void> {
  await sql`insert into instance_settings (id, require_expiry, max_lifetime_days, version) values (1, ${defaults.require_expiry}, ${defaults.max_lifetime_days}, 0)
    on conflict (id) do nothing`.execute(trx)
  await sql`select 1 from instance_settings where id = 1 for update`.execute(trx)
}

// network(inet) clears host bits ("10.1.2.3/8" → 10.0.0.0/8), which cidr itself would reject.
const cidrs = (ranges: string[]) => sql`array(select network(r::inet)::cidr from unnest(${ranges}::text[]) r)`

export async function saveInstanceSettings(trx: Trx, v: PolicyValues & { legacy_tokens_blocked_from: string | null; token_prefix: string | null; reuse_detection: ReuseDetection; legacy_conversion_grace_days: number }, by: string): Promise<{ updated_at: Date }> {
  const { rows } = await sql<{ updated_at: Date }>`
    update instance_settings set require_expiry = ${v.require_expiry}, max_lifetime_days = ${v.max_lifetime_days},
      default_lifetime_days = ${v.default_lifetime_days}, allow_legacy_tokens = ${v.allow_legacy_tokens},
      legacy_tokens_blocked_from = ${v.legacy_tokens_blocked_from}::date, blocked_permissions = ${v.blocked_permissions}::text[],
      allowed_ip_ranges = ${cidrs(v.allowed_ip_ranges)}, auto_revoke_unused_days = ${v.auto_revoke_unused_days},
      token_prefix = ${v.token_prefix}, reuse_detection = ${v.reuse_detection}, legacy_conversion_grace_days = ${v.legacy_conversion_grace_days},
      version = version + 1, updated_at = now(), updated_by = ${by}
    where id = 1 returning updated_at`.execute(trx)
  return rows[0]
}

export async function lockGroupPolicy(trx: Trx, groupId: number): Promise<void> {
  await sql`insert into group_token_policies (namespace_id, version) values (${groupId}, 0) on conflict (namespace_id) do nothing`.execute(trx)
  await sql`select 1 from group_token_policies where namespace_id = ${groupId} for update`.execute(trx)
}

export async function saveGroupPolicy(trx: Trx, groupId: number, v: PolicyValues & { enforce_fine_grained_from: string | null; reuse_detection: ReuseDetection | null; require_approval: boolean; approval_notifications: ApprovalNotifications }, by: string): Promise<{ updated_at: Date }> {
  const { rows } = await sql<{ updated_at: Date }>`
    update group_token_policies set require_expiry = ${v.require_expiry}, max_lifetime_days = ${v.max_lifetime_days},
      default_lifetime_days = ${v.default_lifetime_days}, allow_legacy_tokens = ${v.allow_legacy_tokens},
      enforce_fine_grained_from = ${v.enforce_fine_grained_from}::date, blocked_permissions = ${v.blocked_permissions}::text[],
      allowed_ip_ranges = ${cidrs(v.allowed_ip_ranges)}, auto_revoke_unused_days = ${v.auto_revoke_unused_days},
      reuse_detection = ${v.reuse_detection}, require_approval = ${v.require_approval}, approval_notifications = ${v.approval_notifications}, version = version + 1, updated_at = now(), updated_by = ${by}
    where namespace_id = ${groupId} returning updated_at`.execute(trx)
  return rows[0]
}

export async function updatedAt(db: Q, table: 'instance_settings' | 'group_token_policies', id: number): Promise<Date | null> {
  const { rows } = await sql<{ updated_at: Date; version: number }>`select updated_at, version from ${sql.table(table)}
    where ${sql.ref(table === 'instance_settings' ? 'id' : 'namespace_id')} = ${id}`.execute(db)
  return rows[0] && rows[0].version > 0 ? rows[0].updated_at : null
}

// What a policy or a group owner's route needs of a namespace (ManagedGroup, policies/access.ts).
const NAMESPACE_FIELDS = ['id', 'kind', 'parent_id', 'full_path', 'traversal_ids'] as const

export async function findNamespace(db: Q, id: number) {
  return db.selectFrom('namespaces').select(NAMESPACE_FIELDS).where('id', '=', id).executeTakeFirst()
}

/**
 * The namespace and, for `userId`, the user's highest live membership level on it or any group above
 * it (0: none): one statement, asked on every group owner's request.
 */
export async function findNamespaceWithLevel(db: Q, id: number, userId: number | undefined, today: string) {
  // A function (migration 0021): every group route asks this first, and its plan is kept.
  const { rows: [row] } = await sql<Pick<NamespaceRow, (typeof NAMESPACE_FIELDS)[number]> & { level: number | null }>`
    select * from fgpat_namespace_with_level(${id}::bigint, ${userId ?? null}::bigint, ${today}::date)`.execute(db)
  if (!row) return undefined
  const { level, ...ns } = row
  return { ns, level: Number(level ?? 0) }
}

/** namespace id → its top-level group (only where that root is a group), with the root's path. */
export async function rootGroupsOf(db: Q, ids: number[]): Promise<Map<number, { rootId: number; rootPath: string }>> {
  if (ids.length === 0) return new Map()
  const { rows } = await sql<{ id: number; root_id: number; root_path: string }>`
    select n.id, r.id as root_id, r.full_path as root_path
    from namespaces n join namespaces r on r.id = n.traversal_ids[1]
    where n.id = any(${[...new Set(ids)]}::bigint[]) and r.kind = 'group'`.execute(db)
  return new Map(rows.map((r) => [Number(r.id), { rootId: Number(r.root_id), rootPath: r.root_path }]))
}

/** The top-level groups where the user holds a live membership (on the group or anything below it). */
export async function memberRootGroups(db: Q, userId: number, today: string): Promise<{ rootId: number; rootPath: string }[]> {
  const { rows } = await sql<{ root_id: number; root_path: string }>`
    select distinct r.id as root_id, r.full_path as root_path
    from memberships m join namespaces n on n.id = m.namespace_id join namespaces r on r.id = n.traversal_ids[1]
    where m.user_id = ${userId} and (m.expires_at is null or m.expires_at > ${today}::date) and r.kind = 'group'`.execute(db)
  return rows.map((r) => ({ rootId: Number(r.root_id), rootPath: r.root_path }))
}
