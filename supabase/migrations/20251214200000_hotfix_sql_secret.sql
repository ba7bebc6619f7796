-- Hotfixes: the declared SQL is secret, "synced" means the migration carries the change,
-- and app users read nothing of the hotfix records (issue 13 items 1, 2, 6; issue 14 item 1).
--
-- * dragonfly_private.hotfix_sql: the SQL as run in Studio, raw (the content check compares it
--   with the migration). The schema is private: anon and authenticated have no USAGE on it, and
--   only service_role (the bot's key) holds privileges on the table. public.hotfixes.sql_text
--   is from now on the redacted copy (bot.core.redact), for display and export.
--   Rows stored before this file had raw SQL there: it moves to the private table and the copy
--   is emptied (the bot redacts the private text when it shows such a hotfix).
-- * A new state, applied_with_differences: the linked migration is applied but does not carry
--   what was run (a statement missing, other values, undone, a same-name no-op index). It
--   becomes synced when a corrected file passes the check, or when a DevOps lead accepts the
--   differences (accept_hotfix). linked_content_hash says which migration text the stored
--   findings were computed from, so they are computed again when the file changes.
-- * One size limit for declared SQL, 65536 bytes (bot.core.hotfix_input.SQL_MAX_BYTES), on
--   both the private text and the redacted copy.
-- * Least privilege: authenticated and anon hold nothing on the hotfix tables (the bot reads and
--   writes with the service-role key). The append-only trigger function pins search_path; the
--   identity sequence of hotfix_events is granted to nobody (identity needs no grant) and the
--   code sequence to service_role only. Free text the bot stores (summary, review, reasons,
--   findings) is redacted by the bot before it is stored.
--
-- Safe to apply twice: every statement is guarded or replaces in place.

set lock_timeout = '5s';

create schema if not exists dragonfly_private;
revoke all on schema dragonfly_private from public, anon, authenticated;
grant usage on schema dragonfly_private to service_role;

do $$
begin
    if to_regclass('dragonfly_private.hotfix_sql') is null then
        create table dragonfly_private.hotfix_sql (
            hotfix_id uuid primary key references public.hotfixes (id),
            sql_text text not null,
            stored_at timestamptz not null default now()
        );
        -- The raw SQL stored before this file: moved, and the public copy emptied.
        insert into dragonfly_private.hotfix_sql (hotfix_id, sql_text)
        select id, sql_text from public.hotfixes where sql_text is not null;
        update public.hotfixes set sql_text = null where sql_text is not null;
        -- NOT VALID: the moved rows were checked against the old limit; every new row is checked.
        alter table dragonfly_private.hotfix_sql add constraint hotfix_sql_size_check
            check (octet_length(sql_text) <= 65536) not valid;
    end if;
end $$;

alter table dragonfly_private.hotfix_sql enable row level security;
drop policy if exists hotfix_sql_service_role on dragonfly_private.hotfix_sql;
create policy hotfix_sql_service_role on dragonfly_private.hotfix_sql
    for all to service_role using (true) with check (true);
revoke all on dragonfly_private.hotfix_sql from public, anon, authenticated, service_role;
grant select, insert on dragonfly_private.hotfix_sql to service_role;

alter table public.hotfixes add column if not exists linked_content_hash text;
comment on column public.hotfixes.sql_text is
    'The declared SQL, redacted (display and export); the raw text is in dragonfly_private.hotfix_sql.';
comment on column public.hotfixes.linked_content_hash is
    'Of the migration text link_findings were computed from: a changed file is checked again.';

alter table public.hotfixes drop constraint if exists hotfixes_sql_text_check;
alter table public.hotfixes add constraint hotfixes_sql_text_check check (octet_length(sql_text) <= 65536) not valid;
alter table public.hotfixes validate constraint hotfixes_sql_text_check;

alter table public.hotfixes drop constraint if exists hotfixes_state_check;
alter table public.hotfixes add constraint hotfixes_state_check check (
    state in (
        'declared', 'awaiting_approval', 'approved', 'migration_linked', 'applied_with_differences',
        'synced', 'resolved', 'rejected', 'cancelled'
    )
) not valid;
alter table public.hotfixes validate constraint hotfixes_state_check;

-- Least privilege: nothing for app users; service_role as before.
revoke all on public.hotfixes, public.hotfix_events, public.hotfix_reminders from public, anon, authenticated;
grant select, insert, update on public.hotfixes to service_role;
grant select, insert on public.hotfix_events, public.hotfix_reminders to service_role;
drop policy if exists hotfixes_read on public.hotfixes;
create policy hotfixes_read on public.hotfixes for select to service_role using (true);
drop policy if exists hotfix_events_read on public.hotfix_events;
create policy hotfix_events_read on public.hotfix_events for select to service_role using (true);
drop policy if exists hotfix_reminders_read on public.hotfix_reminders;
create policy hotfix_reminders_read on public.hotfix_reminders for select to service_role using (true);

revoke all on sequence public.hotfix_code_seq from public, anon, authenticated, service_role;
grant usage, select on sequence public.hotfix_code_seq to service_role;
do $$
declare
    seq text := pg_get_serial_sequence('public.hotfix_events', 'id');
begin
    if seq is not null then
        execute format('revoke all on sequence %s from public, anon, authenticated, service_role', seq);
    end if;
end $$;

alter function public.hotfix_history_append_only() set search_path = '';
revoke all on function public.hotfix_history_append_only() from public, anon, authenticated, service_role;

-- Declarations: the raw SQL to the private table, the redacted copy to public.hotfixes.
drop function if exists public.declare_hotfix(
    uuid, text, text, text, text, text, text, timestamptz, text, timestamptz, jsonb
);
create or replace function public.declare_hotfix(
    p_id uuid,
    p_environment text,
    p_summary text,
    p_sql_text text,
    p_sql_digest text,
    p_declared_by_id text,
    p_declared_by_name text,
    p_declared_at timestamptz,
    p_state text,
    p_next_reminder_at timestamptz,
    p_detail jsonb default '{}'::jsonb,
    p_sql_redacted text default null
)
returns setof public.hotfixes
language plpgsql
security invoker
set search_path = ''
as $$
declare
    inserted uuid;
begin
    if not exists (select 1 from public.hotfixes where id = p_id) then
        insert into public.hotfixes (
            id, code, environment, summary, sql_text, sql_digest, declared_by_id, declared_by_name,
            declared_at, state, next_reminder_at
        ) values (
            p_id, 'HF-' || lpad(nextval('public.hotfix_code_seq')::text, 4, '0'), p_environment, p_summary,
            p_sql_redacted, p_sql_digest, p_declared_by_id, p_declared_by_name, p_declared_at, p_state,
            p_next_reminder_at
        )
        on conflict (id) do nothing
        returning id into inserted;
        if inserted is not null then
            if p_sql_text is not null then
                insert into dragonfly_private.hotfix_sql (hotfix_id, sql_text) values (p_id, p_sql_text);
            end if;
            insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail)
            values (p_id, p_declared_at, 'declared', p_declared_by_id, p_declared_by_name,
                    coalesce(p_detail, '{}'::jsonb));
        end if;
    end if;
    return query select * from public.hotfixes where id = p_id;
end;
$$;

-- The raw declared SQL (null when none was declared): for the content check, service_role only.
create or replace function public.hotfix_declared_sql(p_id uuid)
returns text
language sql
stable
security invoker
set search_path = ''
as $$
    select s.sql_text from dragonfly_private.hotfix_sql s where s.hotfix_id = p_id
$$;

-- Linking also records which migration text the findings describe.
drop function if exists public.link_hotfix(uuid, text[], text, text, jsonb, text, text, timestamptz);
create or replace function public.link_hotfix(
    p_id uuid, p_expected text[], p_version text, p_file text, p_findings jsonb,
    p_actor_id text, p_actor_name text, p_at timestamptz, p_content_hash text default null
)
returns setof public.hotfixes
language plpgsql
security invoker
set search_path = ''
as $$
begin
    return query
    with changed as (
        update public.hotfixes
           set state = 'migration_linked', linked_version = p_version, linked_file = p_file,
               linked_at = p_at, link_findings = p_findings, linked_content_hash = p_content_hash
         where id = p_id and state = any (p_expected)
        returning *
    ), logged as (
        insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail)
        select id, p_at, 'migration_linked', p_actor_id, p_actor_name,
               jsonb_build_object('version', p_version, 'file', p_file, 'findings', p_findings)
          from changed
    )
    select * from changed;
end;
$$;

-- The linked migration's text changed: store the findings computed from it, once per text (a
-- second bot with the same hash gets nothing back). A 'rechecked' event when the findings differ.
create or replace function public.recheck_hotfix(
    p_id uuid, p_expected text[], p_findings jsonb, p_content_hash text, p_at timestamptz
)
returns setof public.hotfixes
language plpgsql
security invoker
set search_path = ''
as $$
declare
    old_findings jsonb;
begin
    select h.link_findings into old_findings
      from public.hotfixes h
     where h.id = p_id and h.state = any (p_expected) and h.linked_content_hash is distinct from p_content_hash
       for update;
    if not found then
        return;
    end if;
    update public.hotfixes set link_findings = p_findings, linked_content_hash = p_content_hash where id = p_id;
    if old_findings is distinct from p_findings then
        insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail)
        values (p_id, p_at, 'rechecked', null, null, jsonb_build_object('findings', p_findings));
    end if;
    return query select * from public.hotfixes where id = p_id;
end;
$$;

-- The linked migration is applied: synced when the findings of p_content_hash (the ones the bot
-- decided on) show no difference, else applied_with_differences. Once per caller that wins.
create or replace function public.settle_hotfix(
    p_id uuid, p_expected text[], p_state text, p_content_hash text, p_at timestamptz
)
returns setof public.hotfixes
language plpgsql
security invoker
set search_path = ''
as $$
begin
    if p_state not in ('synced', 'applied_with_differences') then
        raise exception 'settle_hotfix settles as synced or applied_with_differences, not %', p_state
            using errcode = 'invalid_parameter_value';
    end if;
    return query
    with changed as (
        update public.hotfixes
           set state = p_state,
               synced_at = case when p_state = 'synced' then p_at else synced_at end,
               next_reminder_at = case when p_state = 'synced' then null else next_reminder_at end
         where id = p_id and state = any (p_expected)
           and linked_content_hash is not distinct from p_content_hash
        returning *
    ), logged as (
        insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail)
        select id, p_at, p_state, null, null,
               jsonb_build_object('version', linked_version, 'file', linked_file,
                                  'seconds_unsynced', extract(epoch from p_at - declared_at)::bigint)
               || case when p_state = 'synced' then '{}'::jsonb
                       else jsonb_build_object('findings', link_findings) end
          from changed
    )
    select * from changed;
end;
$$;

-- A DevOps lead accepts the differences: applied_with_differences -> synced, with the reason and
-- the findings accepted on the timeline. A retry with the same p_event_id returns the row again.
create or replace function public.accept_hotfix(
    p_id uuid, p_reason text, p_actor_id text, p_actor_name text, p_at timestamptz, p_event_id uuid
)
returns setof public.hotfixes
language plpgsql
security invoker
set search_path = ''
as $$
begin
    if exists (select 1 from public.hotfix_events e where e.event_id = p_event_id and e.hotfix_id = p_id) then
        return query select * from public.hotfixes where id = p_id;
        return;
    end if;
    return query
    with changed as (
        update public.hotfixes
           set state = 'synced', synced_at = p_at, next_reminder_at = null
         where id = p_id and state = 'applied_with_differences'
        returning *
    ), logged as (
        insert into public.hotfix_events (hotfix_id, at, kind, actor_id, actor_name, detail, event_id)
        select id, p_at, 'accepted', p_actor_id, p_actor_name,
               jsonb_build_object('reason', p_reason, 'version', linked_version, 'findings', link_findings),
               p_event_id
          from changed
    )
    select * from changed;
end;
$$;

-- "Synced" is settled by settle_hotfix now, which looks at the findings; the old shortcut goes.
drop function if exists public.mark_hotfix_synced(uuid, text, timestamptz);

revoke all on function public.declare_hotfix(
    uuid, text, text, text, text, text, text, timestamptz, text, timestamptz, jsonb, text
) from public, anon, authenticated;
revoke all on function public.hotfix_declared_sql(uuid) from public, anon, authenticated;
revoke all on function public.link_hotfix(uuid, text[], text, text, jsonb, text, text, timestamptz, text)
    from public, anon, authenticated;
revoke all on function public.recheck_hotfix(uuid, text[], jsonb, text, timestamptz) from public, anon, authenticated;
revoke all on function public.settle_hotfix(uuid, text[], text, text, timestamptz) from public, anon, authenticated;
revoke all on function public.accept_hotfix(uuid, text, text, text, timestamptz, uuid) from public, anon, authenticated;
grant execute on function public.declare_hotfix(
    uuid, text, text, text, text, text, text, timestamptz, text, timestamptz, jsonb, text
) to service_role;
grant execute on function public.hotfix_declared_sql(uuid) to service_role;
grant execute on function public.link_hotfix(uuid, text[], text, text, jsonb, text, text, timestamptz, text)
    to service_role;
grant execute on function public.recheck_hotfix(uuid, text[], jsonb, text, timestamptz) to service_role;
grant execute on function public.settle_hotfix(uuid, text[], text, text, timestamptz) to service_role;
grant execute on function public.accept_hotfix(uuid, text, text, text, timestamptz, uuid) to service_role;
