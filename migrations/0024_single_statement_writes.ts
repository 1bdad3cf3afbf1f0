// A creation and a revocation each wrote in one transaction of several round trips: BEGIN, the
// token, its scopes, the audit event, COMMIT (creation); BEGIN, the row locked, the update, the
// audit event, COMMIT (revocation). A rotation's transaction, after its locks and checks, wrote in
// seven statements (the successor, its scopes, the old token share-locked, its removals copied, its
// approvals moved, the old token revoked, the audit event). Each round trip costs the API ~150–250 µs
// of CPU (Kysely's build, pg's send and parse, the socket writes, the promise hops) and PostgreSQL a
// wake-up, and in the realistic mix every write's CPU is spread over the reads (bench/README.md,
// issue 17 part 2). These functions make each of those writes one statement (a rotation keeps its
// transaction for the locks and checks before it), atomic as the transaction was: a function call
// is one statement, and its statements see each other's effects in order, so the triggers on
// audit_events, the scopes and the removals fire exactly as before. A membership's removal and its
// PUT (the directory API's one-membership writes) likewise: five and seven statements, one each.
//
// Only the writing moves here: what may be written (validation, policy, the expiry, who may revoke)
// is still decided by the API before it calls them.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A new token's scopes, [{access, namespace_id, permissions}, …], in the order given (as the
    -- API's multi-row insert wrote them): for fgpat_create_token and fgpat_rotate_token.
    create function fgpat_insert_scopes(p_token_id bigint, p_scopes jsonb) returns void language sql as $$
      insert into personal_access_token_scopes (token_id, access, namespace_id, permissions)
      select p_token_id, s.access, s.namespace_id, s.permissions
      from rows from (jsonb_to_recordset(p_scopes) as (access text, namespace_id bigint, permissions text[])) with ordinality as s(access, namespace_id, permissions, n)
      order by s.n
    $$;

    -- A new token with its scopes and its audit event ('token.created' or as given). The token's
    -- columns and scopes are the API's (as its insert would write them); the audit event's target is
    -- the new row. Rotation, duplication and conversion carry bookkeeping over from another token
    -- and keep their transactions.
    create function fgpat_create_token(
      p_user_id bigint, p_name text, p_description text, p_kind text, p_legacy_scopes text[],
      p_digest bytea, p_hint text, p_expires_at date, p_created_by text, p_template_id bigint,
      p_scopes jsonb,
      p_actor_type text, p_actor_id text, p_action text, p_details jsonb, p_ip text, p_request_id text
    ) returns setof personal_access_tokens language plpgsql as $$
    declare
      issued personal_access_tokens;
    begin
      insert into personal_access_tokens (user_id, name, description, kind, scopes, token_digest, token_hint, expires_at, created_by, template_id)
      values (p_user_id, p_name, p_description, p_kind, p_legacy_scopes, p_digest, p_hint, p_expires_at, p_created_by, p_template_id)
      returning * into issued;
      perform fgpat_insert_scopes(issued.id, p_scopes);
      insert into audit_events (actor_type, actor_id, action, target_type, target_id, details, ip, request_id)
      values (p_actor_type, p_actor_id, p_action, 'personal_access_token', issued.id::text, p_details, p_ip, p_request_id);
      return next issued;
    end $$;

    -- A rotation's writes, in its transaction: the caller has locked the family's root and the old
    -- token (FOR UPDATE, so no removal of the old token can be written meanwhile) and checked that it
    -- may be rotated. The successor (same family, the old token as its predecessor) with its scopes;
    -- the old token's group removals copied and its approval requests moved to the successor; the
    -- old token revoked ('rotated'); the 'token.rotated' event, whose target is the successor. Returns
    -- the successor and the revoked old row.
    create function fgpat_rotate_token(
      p_old_id bigint, p_family_id bigint, p_revoked_at timestamptz, p_revoked_by text,
      p_user_id bigint, p_name text, p_description text, p_kind text, p_legacy_scopes text[],
      p_digest bytea, p_hint text, p_expires_at date, p_created_by text, p_template_id bigint,
      p_scopes jsonb,
      p_actor_type text, p_actor_id text, p_details jsonb, p_ip text, p_request_id text
    ) returns setof personal_access_tokens language plpgsql as $$
    declare
      issued personal_access_tokens;
      revoked personal_access_tokens;
    begin
      insert into personal_access_tokens (user_id, name, description, kind, scopes, token_digest, token_hint, expires_at, created_by, template_id,
        previous_personal_access_token_id, family_id)
      values (p_user_id, p_name, p_description, p_kind, p_legacy_scopes, p_digest, p_hint, p_expires_at, p_created_by, p_template_id, p_old_id, p_family_id)
      returning * into issued;
      perform fgpat_insert_scopes(issued.id, p_scopes);
      insert into group_access_removals (token_id, group_id, removed_by, removed_by_user_id, reason, removed_at)
      select issued.id, group_id, removed_by, removed_by_user_id, reason, removed_at from group_access_removals where token_id = p_old_id
      on conflict do nothing;
      update token_approval_requests set token_id = issued.id where token_id = p_old_id;
      update personal_access_tokens
      set revoked_at = p_revoked_at, revoked_by = p_revoked_by, revoke_reason = 'rotated', updated_at = now(), version = version + 1
      where id = p_old_id
      returning * into revoked;
      if not found then
        raise exception 'token % to rotate is gone', p_old_id;
      end if;
      insert into audit_events (actor_type, actor_id, action, target_type, target_id, details, ip, request_id)
      values (p_actor_type, p_actor_id, 'token.rotated', 'personal_access_token', issued.id::text, p_details, p_ip, p_request_id);
      return next issued;
      return next revoked;
    end $$;

    -- Revokes a token that is not revoked yet, with its audit event; nothing (no row) when it is
    -- already revoked or gone: revoking twice is a no-op. The UPDATE takes the row lock the
    -- transaction took with SELECT … FOR UPDATE, and a concurrent revocation's commit makes this one
    -- find the row revoked. The event's details are the revoked row's, as the API wrote them
    -- (user_id, name, token_hint, kind, expires_at), with p_extra's keys added.
    create function fgpat_revoke_token(
      p_id bigint, p_revoked_at timestamptz, p_revoked_by text, p_reason text,
      p_actor_type text, p_actor_id text, p_namespace_id bigint, p_extra jsonb, p_ip text, p_request_id text
    ) returns setof personal_access_tokens language plpgsql as $$
    declare
      revoked personal_access_tokens;
    begin
      update personal_access_tokens
      set revoked_at = p_revoked_at, revoked_by = p_revoked_by, revoke_reason = p_reason, updated_at = now(), version = version + 1
      where id = p_id and revoked_at is null
      returning * into revoked;
      if not found then
        return;
      end if;
      insert into audit_events (actor_type, actor_id, action, target_type, target_id, namespace_id, details, ip, request_id)
      values (p_actor_type, p_actor_id, 'token.revoked', 'personal_access_token', revoked.id::text, p_namespace_id,
        jsonb_build_object('user_id', revoked.user_id, 'name', revoked.name, 'token_hint', revoked.token_hint, 'kind', revoked.kind, 'expires_at', revoked.expires_at) || p_extra,
        p_ip, p_request_id);
      return next revoked;
    end $$;

    -- A membership removed, its user's version raised (the user's cached standing changes) and the
    -- 'directory.membership_removed' event; nothing when there was no such membership.
    create function fgpat_remove_membership(p_user_id bigint, p_namespace_id bigint, p_actor_type text, p_actor_id text, p_ip text, p_request_id text)
    returns setof memberships language plpgsql as $$
    declare
      removed memberships;
    begin
      delete from memberships where user_id = p_user_id and namespace_id = p_namespace_id returning * into removed;
      if not found then
        return;
      end if;
      update users set version = version + 1 where id = p_user_id;
      insert into audit_events (actor_type, actor_id, action, target_type, target_id, namespace_id, details, ip, request_id)
      values (p_actor_type, p_actor_id, 'directory.membership_removed', 'user', p_user_id::text, p_namespace_id,
        jsonb_build_object('access_level', removed.access_level), p_ip, p_request_id);
      return next removed;
    end $$;

    -- A membership put: inserted, or updated when its level or expiry differ (then, and only then,
    -- its user's version is raised: an identical PUT changes no decision), with the
    -- 'directory.membership_upserted' event either way. One row: "missing" names the user or the
    -- namespace that does not exist (nothing written), else the membership as it now stands and
    -- whether this call changed it.
    create function fgpat_put_membership(
      p_user_id bigint, p_namespace_id bigint, p_access_level smallint, p_expires_at date,
      p_actor_type text, p_actor_id text, p_ip text, p_request_id text
    ) returns table (
      missing text, changed boolean,
      user_id bigint, namespace_id bigint, access_level smallint, expires_at date, created_at timestamptz, updated_at timestamptz
    ) language plpgsql as $$
    #variable_conflict use_column
    declare
      put memberships;
    begin
      if not exists (select 1 from users u where u.id = p_user_id) then
        missing := 'user';
        return next;
        return;
      end if;
      if not exists (select 1 from namespaces n where n.id = p_namespace_id) then
        missing := 'namespace';
        return next;
        return;
      end if;
      insert into memberships as m (user_id, namespace_id, access_level, expires_at)
      values (p_user_id, p_namespace_id, p_access_level, p_expires_at)
      on conflict (user_id, namespace_id) do update
        set access_level = excluded.access_level, expires_at = excluded.expires_at, updated_at = now()
        where (m.access_level, m.expires_at) is distinct from (excluded.access_level, excluded.expires_at)
      returning * into put;
      changed := found;
      if changed then
        update users set version = version + 1 where id = p_user_id;
      else
        select * into put from memberships m where m.user_id = p_user_id and m.namespace_id = p_namespace_id;
      end if;
      insert into audit_events (actor_type, actor_id, action, target_type, target_id, namespace_id, details, ip, request_id)
      values (p_actor_type, p_actor_id, 'directory.membership_upserted', 'user', p_user_id::text, p_namespace_id,
        jsonb_build_object('access_level', put.access_level), p_ip, p_request_id);
      user_id := put.user_id;
      namespace_id := put.namespace_id;
      access_level := put.access_level;
      expires_at := put.expires_at;
      created_at := put.created_at;
      updated_at := put.updated_at;
      return next;
    end $$;
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop function fgpat_put_membership(bigint, bigint, smallint, date, text, text, text, text);
    drop function fgpat_remove_membership(bigint, bigint, text, text, text, text);
    drop function fgpat_rotate_token(bigint, bigint, timestamptz, text, bigint, text, text, text, text[], bytea, text, date, text, bigint, jsonb, text, text, jsonb, text, text);
    drop function fgpat_revoke_token(bigint, timestamptz, text, text, text, text, bigint, jsonb, text, text);
    drop function fgpat_create_token(bigint, text, text, text, text[], bytea, text, date, text, bigint, jsonb, text, text, text, jsonb, text, text);
    drop function fgpat_insert_scopes(bigint, jsonb);
  `.execute(db)
}
