// The instance's legacy report counts the live legacy tokens used in the last 30 days. At a million
// tokens that was a range of ~16,500 entries of pat_live_legacy_last_used read on every request
// (~2.3 ms idle, ~4 ms under load: the largest part of the report; bench/README.md, inventory).
//
// 1. pat_legacy_use_days: non-revoked legacy tokens counted by the UTC day of their last use, kept by
//    statement triggers that only insert delta rows, as pat_inventory_counts (migration 0005). A
//    token moves between days at most once a day (its first use of the day), so the deltas stay few.
//    "Live" also needs "not expired", which depends on today: each row also carries the token's
//    expiry date, but only when it falls within 31 days of the day of use ('infinity' otherwise).
//    For any day of use inside a window of up to 32 days ending today, an expiry more than 31 days
//    after that use is after today, so `expires_on > today` stays exact while a day holds about 32
//    rows (a token works only before its expiry date) instead of one per distinct expiry date.
// 2. proposal_until and pat_legacy_proposal_days: "with a proposal" counted the live legacy tokens
//    whose last 30 days of token_usage_daily hold enough evidence (10 allowed decisions on 2 days),
//    grouping every usage row of the window on every request: 212-249 ms with 330,000 rows. As the
//    window moves it only loses days, so a token's evidence, once computed, stays enough up to a
//    day that changes only when new usage arrives: proposal_until, recomputed by a statement
//    trigger on token_usage_daily for the legacy tokens each write touched, and counted by day
//    like 1. (the expiry kept only when it is not after that day).
// 3. fgpat_legacy_summary(...): the report's summary as one PL/pgSQL function (its plans kept per
//    backend, as migration 0018 explains); for the instance it reads pat_legacy_use_days for "used
//    lately", for a group the tokens fgpat_legacy_reaching (4.) found.
// 4. fgpat_legacy_reaching(...): a group's live legacy tokens, its members' (legacy tokens have no
//    selected scopes), without fgpat_tokens_reaching's scope branch.
// 5. fgpat_legacy_page(...): a page of the report. Planning the page inline cost 0.4-0.6 ms a
//    request (personal_access_tokens has many indexes to weigh), more than running it.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table pat_legacy_use_days (
      used_on date not null,
      expires_on date not null, -- the token's expiry if at most 31 days after used_on, else 'infinity'
      tokens bigint not null
    );

    -- The last day a legacy token's recorded use still earns it a proposal (see 2. in the header).
    alter table personal_access_tokens add column proposal_until date;
    create table pat_legacy_proposal_days (
      until date not null,
      expires_on date not null, -- the token's expiry if not after until, else 'infinity'
      tokens bigint not null
    );

    -- A token's bucket: the UTC day of its last use, and its expiry if within 31 days of it.
    create function pat_legacy_use_day(last_used_at timestamptz) returns date language sql immutable as
      $$ select (last_used_at at time zone 'UTC')::date $$;
    create function pat_legacy_use_expiry(last_used_at timestamptz, expires_at date) returns date language sql immutable as
      $$ select case when expires_at <= (last_used_at at time zone 'UTC')::date + 31 then expires_at else 'infinity'::date end $$;
    -- Only days up to until are ever asked about, so a later expiry counts as none.
    create function pat_legacy_proposal_expiry(until date, expires_at date) returns date language sql immutable as
      $$ select case when expires_at <= until then expires_at else 'infinity'::date end $$;

    -- Each branch names only the transition tables its event has (PL/pgSQL plans a statement when
    -- it first runs, so the others are never looked up). Both day tables count non-revoked legacy
    -- tokens; most updates (a use on a day already counted, names, notices, fine-grained tokens)
    -- move nothing and write nothing.
    create function pat_legacy_use_days_apply() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        delete from pat_legacy_use_days;
        delete from pat_legacy_proposal_days;
      elsif tg_op = 'INSERT' then
        insert into pat_legacy_use_days
        select pat_legacy_use_day(last_used_at), pat_legacy_use_expiry(last_used_at, expires_at), count(*)
        from new_tokens where kind = 'legacy' and revoked_at is null and last_used_at is not null group by 1, 2;
        insert into pat_legacy_proposal_days
        select proposal_until, pat_legacy_proposal_expiry(proposal_until, expires_at), count(*)
        from new_tokens where kind = 'legacy' and revoked_at is null and proposal_until is not null group by 1, 2;
      elsif tg_op = 'DELETE' then
        insert into pat_legacy_use_days
        select pat_legacy_use_day(last_used_at), pat_legacy_use_expiry(last_used_at, expires_at), -count(*)
        from old_tokens where kind = 'legacy' and revoked_at is null and last_used_at is not null group by 1, 2;
        insert into pat_legacy_proposal_days
        select proposal_until, pat_legacy_proposal_expiry(proposal_until, expires_at), -count(*)
        from old_tokens where kind = 'legacy' and revoked_at is null and proposal_until is not null group by 1, 2;
      else
        insert into pat_legacy_use_days
        select u, e, sum(d) from (
          select pat_legacy_use_day(last_used_at) u, pat_legacy_use_expiry(last_used_at, expires_at) e, 1 d
          from new_tokens where kind = 'legacy' and revoked_at is null and last_used_at is not null
          union all
          select pat_legacy_use_day(last_used_at), pat_legacy_use_expiry(last_used_at, expires_at), -1
          from old_tokens where kind = 'legacy' and revoked_at is null and last_used_at is not null
        ) delta group by 1, 2 having sum(d) <> 0;
        insert into pat_legacy_proposal_days
        select u, e, sum(d) from (
          select proposal_until u, pat_legacy_proposal_expiry(proposal_until, expires_at) e, 1 d
          from new_tokens where kind = 'legacy' and revoked_at is null and proposal_until is not null
          union all
          select proposal_until, pat_legacy_proposal_expiry(proposal_until, expires_at), -1
          from old_tokens where kind = 'legacy' and revoked_at is null and proposal_until is not null
        ) delta group by 1, 2 having sum(d) <> 0;
      end if;
      return null;
    end $$;

    -- proposal_until of the given tokens, from their usage: per day, the allowed decisions; from
    -- each day on (newest first), their sum and the days with any; the newest day from which the
    -- evidence still meets the recommendation's thresholds (10 allowed decisions on 2 days:
    -- src/domain/recommend-evidence.ts), plus 29 (a 30-day window). Null where it meets them on no
    -- day (usage deleted). Days older than 45 days are not read: they only matter to a "today" more
    -- than 16 days behind the database's own date.
    create function pat_proposal_until_of(token_ids bigint[]) returns table (token_id bigint, until date) language sql stable as $$
      select t.id, q.until from unnest(token_ids) t(id) left join (
        select o.token_id, max(o.day) filter (where o.allowed_onward >= 10 and o.days_onward >= 2) + 29 as until
        from (
          select d.token_id, d.day,
            sum(d.allowed) over w as allowed_onward, count(*) filter (where d.allowed > 0) over w as days_onward
          from (
            select u.token_id, u.day, sum(u.allowed) as allowed from token_usage_daily u
            where u.token_id = any(token_ids) and u.day >= current_date - 45
            group by u.token_id, u.day
          ) d window w as (partition by d.token_id order by d.day desc rows between unbounded preceding and current row)
        ) o group by o.token_id
      ) q on q.token_id = t.id
    $$;

    -- Recomputed for the legacy tokens a statement on token_usage_daily touched.
    create function pat_proposal_until_refresh() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        update personal_access_tokens set proposal_until = null where proposal_until is not null;
        return null;
      end if;
      update personal_access_tokens p set proposal_until = c.until
      from pat_proposal_until_of(array(
        select distinct c.token_id from changed_usage c join personal_access_tokens t on t.id = c.token_id and t.kind = 'legacy'
      )) c where p.id = c.token_id and p.proposal_until is distinct from c.until;
      return null;
    end $$;

    -- Filled before the triggers exist, so nothing is counted twice.
    update personal_access_tokens p set proposal_until = c.until
    from pat_proposal_until_of(array(
      select distinct u.token_id from token_usage_daily u join personal_access_tokens t on t.id = u.token_id and t.kind = 'legacy'
      where u.day >= current_date - 45
    )) c where p.id = c.token_id and c.until is not null;
    insert into pat_legacy_use_days
    select pat_legacy_use_day(last_used_at), pat_legacy_use_expiry(last_used_at, expires_at), count(*)
    from personal_access_tokens where kind = 'legacy' and revoked_at is null and last_used_at is not null group by 1, 2;
    insert into pat_legacy_proposal_days
    select proposal_until, pat_legacy_proposal_expiry(proposal_until, expires_at), count(*)
    from personal_access_tokens where kind = 'legacy' and revoked_at is null and proposal_until is not null group by 1, 2;

    create trigger pat_legacy_use_days_on_insert after insert on personal_access_tokens
      referencing new table as new_tokens for each statement execute function pat_legacy_use_days_apply();
    create trigger pat_legacy_use_days_on_update after update on personal_access_tokens
      referencing old table as old_tokens new table as new_tokens for each statement execute function pat_legacy_use_days_apply();
    create trigger pat_legacy_use_days_on_delete after delete on personal_access_tokens
      referencing old table as old_tokens for each statement execute function pat_legacy_use_days_apply();
    create trigger pat_legacy_use_days_on_truncate after truncate on personal_access_tokens
      for each statement execute function pat_legacy_use_days_apply();

    -- One trigger per event: a trigger with transition tables can serve only one.
    create trigger pat_proposal_until_on_insert after insert on token_usage_daily
      referencing new table as changed_usage for each statement execute function pat_proposal_until_refresh();
    create trigger pat_proposal_until_on_update after update on token_usage_daily
      referencing new table as changed_usage for each statement execute function pat_proposal_until_refresh();
    create trigger pat_proposal_until_on_delete after delete on token_usage_daily
      referencing old table as changed_usage for each statement execute function pat_proposal_until_refresh();
    create trigger pat_proposal_until_on_truncate after truncate on token_usage_daily
      for each statement execute function pat_proposal_until_refresh();

    -- The live legacy tokens reaching a group (fgpat_tokens_reaching's direct_ns and inherited_ns):
    -- a legacy token reaches only through its owner's memberships (it has no selected scopes), so
    -- this reads the members' tokens from pat_broad_by_user and skips the scope branch, which at 1M
    -- tokens cost a group's report ~0.3 ms for tokens it then dropped as fine-grained.
    create function fgpat_legacy_reaching(direct_ns bigint[], inherited_ns bigint[], today date)
    returns setof bigint language plpgsql stable rows 100 as $$
    begin
      return query
      select distinct t.id
      from memberships m join personal_access_tokens t on t.user_id = m.user_id and t.kind = 'legacy'
      where m.namespace_id = any(direct_ns || inherited_ns) and t.revoked_at is null and (t.expires_at is null or t.expires_at > today);
    end $$;

    -- The legacy report's summary. direct_ns, inherited_ns: a group's (fgpat_legacy_reaching), or
    -- null for the instance's (every live legacy token: from buckets, never reading the tokens).
    -- recent_from: the first UTC day counted as "used lately" (at most 31 days before today, where
    -- the expiry cap above stays exact). cutoff: null for no "would stop working" count.
    -- window_from, min_allowed, min_days: the recommendation's evidence needed for a proposal; when
    -- they are the thresholds proposal_until was computed with (30 days, 10 allowed, 2 days) the
    -- count reads proposal_until, otherwise the usage itself.
    create function fgpat_legacy_summary(direct_ns bigint[], inherited_ns bigint[], today date, recent_from date, cutoff date, window_from date, min_allowed bigint, min_days bigint)
    returns table (total bigint, recent bigint, converting bigint, stopping bigint, proposals bigint) language plpgsql stable as $$
    declare
      stored boolean := window_from = today - 29 and min_allowed = 10 and min_days = 2;
    begin
      if recent_from < today - 31 then
        raise exception 'fgpat_legacy_summary: recent_from % is more than 31 days before %', recent_from, today;
      end if;
      if direct_ns is not null then
        return query
        with live as (
          select t.id, t.expires_at, t.last_used_at, t.conversion_grace_ends_at, t.proposal_until
          from fgpat_legacy_reaching(direct_ns, inherited_ns, today) r(id) join personal_access_tokens t on t.id = r.id
        )
        select count(*),
          count(*) filter (where l.last_used_at >= recent_from::timestamp at time zone 'UTC'),
          count(*) filter (where l.conversion_grace_ends_at is not null),
          -- still live at the cut-off: not expired by then (expires_at is the first day it no longer works), nor revoked by a conversion's grace
          case when cutoff is null then null else count(*) filter (where (l.expires_at is null or l.expires_at > cutoff)
            and (l.conversion_grace_ends_at is null or l.conversion_grace_ends_at > cutoff::timestamp at time zone 'UTC')) end,
          case when stored then count(*) filter (where l.proposal_until >= today) else (select count(*) from (
            select u.token_id from token_usage_daily u
            where u.token_id in (select live.id from live) and u.day >= window_from
            group by u.token_id
            having sum(u.allowed) >= min_allowed and count(distinct u.day) filter (where u.allowed > 0) >= min_days) e) end
        from live l;
        return;
      end if;
      return query select
        (select coalesce(sum(c.tokens), 0)::bigint from pat_inventory_counts c
          where c.kind = 'legacy' and not c.revoked and c.expires_on > today),
        (select coalesce(sum(d.tokens), 0)::bigint from pat_legacy_use_days d where d.used_on >= recent_from and d.expires_on > today),
        (select count(*) from personal_access_tokens t
          where t.conversion_grace_ends_at is not null and t.kind = 'legacy' and t.revoked_at is null and (t.expires_at is null or t.expires_at > today)),
        case when cutoff is null then null else
          (select coalesce(sum(c.tokens), 0)::bigint from pat_inventory_counts c
            where c.kind = 'legacy' and not c.revoked and c.expires_on > today and c.expires_on > cutoff)
          -- live past the cut-off by expiry, but revoked by then when its conversion's grace ends
          - (select count(*) from personal_access_tokens t
              where t.conversion_grace_ends_at is not null and t.kind = 'legacy' and t.revoked_at is null
                and (t.expires_at is null or t.expires_at > today) and (t.expires_at is null or t.expires_at > cutoff)
                and t.conversion_grace_ends_at <= cutoff::timestamp at time zone 'UTC') end,
        case when stored then (select coalesce(sum(p.tokens), 0)::bigint from pat_legacy_proposal_days p where p.until >= today and p.expires_on > today)
        else (select count(*) from (
          select u.token_id from token_usage_daily u join personal_access_tokens t on t.id = u.token_id
          where u.day >= window_from and t.kind = 'legacy' and t.revoked_at is null and (t.expires_at is null or t.expires_at > today)
          group by u.token_id
          having sum(u.allowed) >= min_allowed and count(distinct u.day) filter (where u.allowed > 0) >= min_days) e) end;
    end $$;

    -- A page of the report: live legacy tokens, most recently used first, each with its owner and
    -- its fine-grained successor if converting (unique: pat_converted_from). direct_ns, inherited_ns
    -- as for fgpat_legacy_summary. The caller expands the token: select (p.token).*, ... from it.
    create function fgpat_legacy_page(direct_ns bigint[], inherited_ns bigint[], today date, page_size int, skipped int)
    returns table (token personal_access_tokens, owner_username text, owner_name text, successor_id bigint) language plpgsql stable as $$
    begin
      if direct_ns is not null then
        return query
        select t, u.username, u.name, (select s.id from personal_access_tokens s where s.converted_from_id = t.id)
        from fgpat_legacy_reaching(direct_ns, inherited_ns, today) r(id)
        join personal_access_tokens t on t.id = r.id join users u on u.id = t.user_id
        order by t.last_used_at desc nulls last, t.id desc limit page_size offset skipped;
        return;
      end if;
      return query
      select t, u.username, u.name, (select s.id from personal_access_tokens s where s.converted_from_id = t.id)
      from personal_access_tokens t join users u on u.id = t.user_id
      where t.kind = 'legacy' and t.revoked_at is null and (t.expires_at is null or t.expires_at > today)
      order by t.last_used_at desc nulls last, t.id desc limit page_size offset skipped;
    end $$;
  `.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only')
}
