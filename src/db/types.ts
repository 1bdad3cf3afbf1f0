// Table types for Kysely: one Database interface, columns as in PostgreSQL (snake_case).
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
/** DATE columns are kept as 'YYYY-MM-DD' strings (see db/index.ts) so no timezone can shift them. */
type DateString = ColumnType<string | null, string | null | undefined, string | null>

export type UserState = 'active' | 'blocked' | 'deactivated'
export type UserKind = 'human' | 'service_account'
export type NamespaceKind = 'group' | 'project' | 'user'
export type Visibility = 'private' | 'internal' | 'public'
export type ScopeAccess = 'selected_memberships' | 'personal_projects' | 'all_memberships' | 'user' | 'instance'
export type TokenKind = 'fine_grained' | 'legacy'

export interface UsersTable {
  id: number
  username: string
  name: string
  email: string
  state: ColumnType<UserState, UserState | undefined, UserState>
  is_admin: ColumnType<boolean, boolean | undefined, boolean>
  /** A person, or a service account owned by a top-level group (migration 0013). */
  kind: ColumnType<UserKind, UserKind | undefined, UserKind>
  /** The owning top-level group; set exactly for service accounts. */
  service_account_group_id: ColumnType<number | null, number | null | undefined, number | null>
  version: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface NamespacesTable {
  id: number
  kind: NamespaceKind
  parent_id: number | null
  path: string
  full_path: string
  name: string
  visibility: ColumnType<Visibility, Visibility | undefined, Visibility>
  owner_id: number | null
  traversal_ids: number[]
  version: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface MembershipsTable {
  user_id: number
  namespace_id: number
  access_level: number
  expires_at: DateString
  created_at: Timestamp
  updated_at: Timestamp
}

export interface PersonalAccessTokensTable {
  id: Generated<number>
  user_id: number
  name: string
  description: string | null
  kind: TokenKind
  scopes: ColumnType<string[], string[] | undefined, string[]>
  token_digest: Buffer
  token_hint: string
  expires_at: DateString
  created_at: Timestamp
  updated_at: Timestamp
  created_by: string
  revoked_at: NullableTimestamp
  revoked_by: string | null
  revoke_reason: string | null
  previous_personal_access_token_id: number | null
  family_id: number | null
  duplicated_from_id: number | null
  template_id: number | null
  version: ColumnType<number, number | undefined, number>
  last_used_at: NullableTimestamp
  last_used_ips: ColumnType<string[], string[] | undefined, string[]>
  expiry_notice_60_at: NullableTimestamp
  expiry_notice_30_at: NullableTimestamp
  expiry_notice_7_at: NullableTimestamp
  expired_notice_at: NullableTimestamp
  /** A fine-grained token made by converting this legacy token (migration 0010). */
  converted_from_id: ColumnType<number | null, number | null | undefined, number | null>
  /** A legacy token under conversion: the sweep revokes it (reason converted) from this instant. */
  conversion_grace_ends_at: NullableTimestamp
  /** The conversion reminder was sent (once). */
  conversion_reminder_at: NullableTimestamp
  /** The distinct permissions the token's scopes name; kept by a database trigger (migration 0005), never written by the app. */
  permissions: ColumnType<string[], never, never>
  /** Whether one of its scopes is all_memberships; kept by the same trigger (migration 0017), never written by the app. */
  all_memberships: ColumnType<boolean, never, never>
  /** Legacy tokens: the last day their recorded use still earns a proposal; kept by a trigger on token_usage_daily (migration 0020), never written by the app. */
  proposal_until: ColumnType<string | null, never, never>
}

export interface PersonalAccessTokenScopesTable {
  id: Generated<number>
  token_id: number
  access: ScopeAccess
  namespace_id: number | null
  permissions: string[]
}

export interface AuditEventsTable {
  id: Generated<number>
  occurred_at: Timestamp
  actor_type: string
  actor_id: string | null
  action: string
  target_type: string
  target_id: string | null
  namespace_id: number | null
  details: ColumnType<Record<string, unknown>, string | undefined, string>
  ip: string | null
  request_id: string | null
  dispatched_at: NullableTimestamp
}

/** A group's owners removed a token's access to the group and everything below it (migration 0007). */
export interface GroupAccessRemovalsTable {
  token_id: number
  group_id: number
  /** The actor, as revoked_by: user:<id>, token:<id>, service:<name>. */
  removed_by: string
  /** The person behind it (a user, or a token's owner); null for a service. */
  removed_by_user_id: number | null
  reason: string | null
  removed_at: Timestamp
}

/** The groups an audit event concerns, written by a trigger on audit_events (migration 0007). */
export interface AuditEventGroupsTable {
  group_id: number
  event_id: number
  /** The event's token reached this group itself, so every group below it sees the event too (migration 0009). */
  reached: ColumnType<boolean, boolean | undefined, boolean>
}

export interface TokenUsageDailyTable {
  token_id: number
  day: string
  permission: string
  /** 0 when the check was not on a namespace (user, instance). */
  namespace_id: number
  allowed: ColumnType<number, number, number>
  denied: ColumnType<number, number, number>
}

export interface Database {
  users: UsersTable
  namespaces: NamespacesTable
  memberships: MembershipsTable
  personal_access_tokens: PersonalAccessTokensTable
  personal_access_token_scopes: PersonalAccessTokenScopesTable
  audit_events: AuditEventsTable
  audit_event_groups: AuditEventGroupsTable
  group_access_removals: GroupAccessRemovalsTable
  token_usage_daily: TokenUsageDailyTable
}

export type UserRow = Selectable<UsersTable>
export type NamespaceRow = Selectable<NamespacesTable>
export type MembershipRow = Selectable<MembershipsTable>
export type TokenRow = Selectable<PersonalAccessTokensTable>
export type NewTokenRow = Insertable<PersonalAccessTokensTable>
export type TokenUpdate = Updateable<PersonalAccessTokensTable>
export type TokenScopeRow = Selectable<PersonalAccessTokenScopesTable>
export type AuditEventRow = Selectable<AuditEventsTable>
export type GroupAccessRemovalRow = Selectable<GroupAccessRemovalsTable>
