// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id bigint primary key,
      username text not null,
      name text not null,
      email text not null,
      state text not null default 'active' check (state in ('active', 'blocked', 'deactivated')),
      is_admin boolean not null default false,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index users_username_lower on users (lower(username));

    create table namespaces (
      id bigint primary key,
      kind text not null check (kind in ('group', 'project', 'user')),
      parent_id bigint references namespaces (id),
      path text not null,
      full_path text not null,
      name text not null,
      visibility text not null default 'private' check (visibility in ('private', 'internal', 'public')),
      owner_id bigint references users (id),
      traversal_ids bigint[] not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (kind <> 'user' or (parent_id is null and owner_id is not null))
    );
    create unique index namespaces_full_path_lower on namespaces (lower(full_path));
    create index namespaces_parent on namespaces (parent_id);
    create index namespaces_traversal on namespaces using gin (traversal_ids);
    create unique index namespaces_user_owner on namespaces (owner_id) where kind = 'user';

    create table memberships (
      user_id bigint not null references users (id) on delete cascade,
      namespace_id bigint not null references namespaces (id) on delete cascade,
      access_level smallint not null check (access_level in (10, 15, 20, 30, 40, 50)),
      expires_at date,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (user_id, namespace_id)
    );
    create index memberships_namespace on memberships (namespace_id);

    create table personal_access_tokens (
      id bigint generated always as identity primary key,
      user_id bigint not null references users (id),
      name text not null,
      description text,
      kind text not null check (kind in ('fine_grained', 'legacy')),
      scopes text[] not null default '{}',
      token_digest bytea not null unique,
      token_hint text not null,
      expires_at date,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      created_by text not null,
      revoked_at timestamptz,
      revoked_by text,
      revoke_reason text,
      previous_personal_access_token_id bigint references personal_access_tokens (id),
      family_id bigint,
      duplicated_from_id bigint references personal_access_tokens (id),
      template_id bigint,
      version integer not null default 1,
      last_used_at timestamptz,
      last_used_ips text[] not null default '{}',
      expiry_notice_60_at timestamptz,
      expiry_notice_30_at timestamptz,
      expiry_notice_7_at timestamptz,
      expired_notice_at timestamptz
    );
    create index pat_user_created on personal_access_tokens (user_id, created_at desc, id desc);
    create index pat_active_expiry on personal_access_tokens (expires_at) where revoked_at is null;
    create index pat_family on personal_access_tokens (family_id);
    create index pat_previous on personal_access_tokens (previous_personal_access_token_id);

    create table personal_access_token_scopes (
      id bigint generated always as identity primary key,
      token_id bigint not null references personal_access_tokens (id) on delete cascade,
      access text not null check (access in ('selected_memberships', 'personal_projects', 'all_memberships', 'user', 'instance')),
      namespace_id bigint references namespaces (id) on delete cascade,
      permissions text[] not null,
      check ((access = 'selected_memberships') = (namespace_id is not null))
    );
    create index pat_scopes_token on personal_access_token_scopes (token_id);
    create index pat_scopes_namespace on personal_access_token_scopes (namespace_id) where namespace_id is not null;

    create table audit_events (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null default now(),
      actor_type text not null,
      actor_id text,
      action text not null,
      target_type text not null,
      target_id text,
      namespace_id bigint,
      details jsonb not null default '{}',
      ip text,
      request_id text,
      dispatched_at timestamptz
    );
    create index audit_events_occurred on audit_events (occurred_at desc, id desc);
    create index audit_events_undispatched on audit_events (id) where dispatched_at is null;
    create index audit_events_target on audit_events (target_type, target_id);
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
