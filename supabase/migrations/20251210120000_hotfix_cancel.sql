-- Hotfixes that never reach "synced" can be closed, and timeline appends are idempotent.
--
-- * Two closing states besides "resolved": "rejected" (a DevOps lead refused a
--   prod hotfix that was awaiting approval) and "cancelled" (abandoned, e.g.
--   the SQL was never run in Studio). Both carry a required reason, who
--   closed the hotfix and when, and stop the reminders.
-- * public.hotfix_events.event_id: an id the bot generates once per event, so
--   a request retried after its first answer was lost (the REST adapter
--   retries on 5xx and transport errors) stores the event once.
--
-- 20251210000000_hotfix_incidents.sql is applied and stays as it is; this
-- file only adds to it. Safe to apply twice: every statement is guarded or
-- replaces in place.

alter table public.hotfixes add column if not exists closed_reason text;
alter table public.hotfixes add column if not exists closed_by_id text;
alter table public.hotfixes add column if not exists closed_by_name text;
alter table public.hotfixes add column if not exists closed_at timestamptz;

-- The state check of the first migration (an unnamed column check, so
-- PostgreSQL called it hotfixes_state_check), widened by the two new states.
alter table public.hotfixes drop constraint if exists hotfixes_state_check;
alter table public.hotfixes add constraint hotfixes_state_check check (
    state in (
        'declared', 'awaiting_approval', 'approved', 'migration_linked', 'synced', 'resolved',
        'rejected', 'cancelled'
    )
);
alter table public.hotfixes drop constraint if exists hotfixes_closed_reason_check;
alter table public.hotfixes add constraint hotfixes_closed_reason_check check (
    (state not in ('rejected', 'cancelled') or closed_reason is not null)
    and char_length(closed_reason) <= 2000
);

alter table public.hotfix_events add column if not exists event_id uuid;
create unique index if not exists hotfix_events_event_id_key on public.hotfix_events (event_id);

-- Append one event, once per p_event_id: a replay of a stored id inserts
-- nothing and returns the stored event. (Replaces the first migration's
-- version, which had no event id; the id is optional so its callers still work.)
drop function if exists public.append_hotfix_event(uuid, text, text, text, jsonb, timestamptz);
create or replace function public.append_hotfix_event(
    p_id uuid, p_kind text, p_actor_id text, p_actor_name text, p_detail jsonb, p_at timestamptz,
    p_event_id uuid default null
)
returns setof public.hotfix_events
language plpgsql
set search_path = public, pg_temp
as $$
begin
    return query
    insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail, event_id)
    values (p_id, p_at, p_kind, p_actor_id, p_actor_name, coalesce(p_detail, '{}'::jsonb), p_event_id)
    on conflict (event_id) do nothing
    returning *;
    if not found then
        return query select * from public.hotfix_events where event_id = p_event_id;
    end if;
end;
$$;

-- Close a hotfix as rejected or cancelled, from one of p_expected (the states
-- the bot checked the rules against). A retry with the same p_event_id after
-- the first call went through returns the closed row again (not "changed
-- meanwhile"); an empty result means someone else changed the hotfix first.
create or replace function public.close_hotfix(
    p_id uuid, p_expected text[], p_state text, p_reason text,
    p_actor_id text, p_actor_name text, p_at timestamptz, p_event_id uuid
)
returns setof public.hotfixes
language plpgsql
set search_path = public, pg_temp
as $$
begin
    if p_state not in ('rejected', 'cancelled') then
        raise exception 'close_hotfix closes as rejected or cancelled, not %', p_state
            using errcode = 'invalid_parameter_value';
    end if;
    if exists (select 1 from public.hotfix_events where event_id = p_event_id and hotfix_id = p_id) then
        return query select * from public.hotfixes where id = p_id;
        return;
    end if;
    return query
    with changed as (
        update public.hotfixes
           set state = p_state, closed_reason = p_reason, closed_by_id = p_actor_id,
               closed_by_name = p_actor_name, closed_at = p_at, next_reminder_at = null
         where id = p_id and state = any (p_expected)
        returning *
    ), logged as (
        insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail, event_id)
        select id, p_at, p_state, p_actor_id, p_actor_name, jsonb_build_object('reason', p_reason), p_event_id
          from changed
    )
    select * from changed;
end;
$$;

revoke all on function public.append_hotfix_event(uuid, text, text, text, jsonb, timestamptz, uuid)
    from public, anon, authenticated;
revoke all on function public.close_hotfix(uuid, text[], text, text, text, text, timestamptz, uuid)
    from public, anon, authenticated;
grant execute on function public.append_hotfix_event(uuid, text, text, text, jsonb, timestamptz, uuid)
    to service_role;
grant execute on function public.close_hotfix(uuid, text[], text, text, text, text, timestamptz, uuid)
    to service_role;

comment on column public.hotfixes.closed_reason is 'Why a hotfix was rejected (by a DevOps lead) or cancelled.';
comment on column public.hotfix_events.event_id is 'Generated by the bot once per event: a retried append is stored once.';
