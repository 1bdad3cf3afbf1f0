// Governance: instance settings (one row), top-level group token policies, and the indexes the
// credential inventory needs. Frozen in time: never import application code from a migration.
//
// instance_settings starts empty: the API seeds its one row from the configuration defaults
// (MAX_TOKEN_LIFETIME_DAYS, REQUIRE_TOKEN_EXPIRY, AUTO_REVOKE_UNUSED_DAYS) the first time it starts.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table instance_settings (
      id smallint primary key default 1 check (id = 1),
      require_expiry boolean not null default true,
      max_lifetime_days integer not null default 365 check (max_lifetime_days between 1 and 400),
      default_lifetime_days integer check (default_lifetime_days between 1 and 400),
      allow_legacy_tokens boolean not null default true,
      legacy_tokens_blocked_from date,
      blocked_permissions text[] not null default '{}',
      allowed_ip_ranges cidr[] not null default '{}',
      auto_revoke_unused_days integer check (auto_revoke_unused_days between 1 and 3650),
      token_prefix text check (token_prefix ~ '^[a-z][a-z0-9]{1,15}-$'),
      version integer not null default 1,
      updated_at timestamptz not null default now(),
      updated_by text
    );

    -- Only top-level groups carry a policy (the service refuses subgroups with a 400).
    create table group_token_policies (
      namespace_id bigint primary key references namespaces (id) on delete cascade,
      require_expiry boolean not null default false,
      max_lifetime_days integer check (max_lifetime_days between 1 and 400),
      default_lifetime_days integer check (default_lifetime_days between 1 and 400),
      allow_legacy_tokens boolean not null default true,
      enforce_fine_grained_from date,
      blocked_permissions text[] not null default '{}',
      allowed_ip_ranges cidr[] not null default '{}',
      auto_revoke_unused_days integer check (auto_revoke_unused_days between 1 and 3650),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      updated_by text
    );

    -- Templates of an instance (owner_id null), a group (namespace id) or a user. Built-ins live in
    -- code with ids below 1001, so a token's template_id names either kind without a second column.
    create table token_templates (
      id bigint generated always as identity (start with 1001) primary key,
      owner_type text not null check (owner_type in ('instance', 'group', 'user')),
      owner_id bigint,
      name text not null,
      description text,
      granular_scopes jsonb not null,
      default_lifetime_days integer check (default_lifetime_days between 1 and 400),
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((owner_type = 'instance') = (owner_id is null))
    );
    create unique index token_templates_name on token_templates (owner_type, coalesce(owner_id, 0), lower(name));
    create index token_templates_owner on token_templates (owner_type, owner_id);

    -- Inventory: the admin list sorts all tokens by creation; filters by kind/expiry/last use.
    create index pat_created on personal_access_tokens (created_at desc, id desc);
    create index pat_last_used on personal_access_tokens (last_used_at);

    -- Audit log: per-group listing and keyset pagination by id.
    create index audit_events_namespace on audit_events (namespace_id, id desc) where namespace_id is not null;
    create index audit_events_actor on audit_events (actor_type, actor_id, id desc);
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
