-- The bot's outbox: every post it makes is a row here before it is a Discord message
-- (docs/ARCHITECTURE.md, "The outbox"). It lives in the SUPABASE_MODE project so it
-- survives the bot's machine being replaced.
--
-- * dragonfly_private.outbox: one row per post (or edit, or reply), keyed by the
--   event it announces. The schema is private: anon and authenticated have no
--   USAGE on it, so they can read nothing (rows carry the text the bot posts).
-- * The bot works only through the functions below, over PostgREST as
--   /rest/v1/rpc/<name> with the service-role key, or directly over Postgres.
--   They are EXECUTE-able by service_role only, run with the caller's rights
--   (security invoker) and pin an empty search_path (every name is qualified).
--
-- Safe to apply twice: every statement is guarded or replaces in place.

create schema if not exists dragonfly_private;
revoke all on schema dragonfly_private from public, anon, authenticated;
grant usage on schema dragonfly_private to service_role;

create table if not exists dragonfly_private.outbox (
    seq bigint generated always as identity primary key,
    key text not null unique check (char_length(key) between 1 and 300),
    channel text not null,
    message jsonb not null,
    edit_of text,
    reply_to text,
    if_gone text not null default 'drop' check (if_gone in ('drop', 'send')),
    state text not null default 'pending' check (state in ('held', 'pending', 'sent', 'dead', 'folded')),
    tag text,
    not_before timestamptz not null default now(),
    attempts integer not null default 0,
    attempted_at timestamptz,
    lease_token uuid,
    lease_until timestamptz,
    channel_id bigint,
    message_id bigint,
    thread_id bigint,
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    check (edit_of is null or reply_to is null)
);
create index if not exists outbox_sendable on dragonfly_private.outbox (state, not_before);
create index if not exists outbox_tag on dragonfly_private.outbox (tag, created_at);
create index if not exists outbox_edit_of on dragonfly_private.outbox (edit_of) where edit_of is not null;

alter table dragonfly_private.outbox enable row level security;
drop policy if exists outbox_service_role on dragonfly_private.outbox;
create policy outbox_service_role on dragonfly_private.outbox for all to service_role using (true) with check (true);
revoke all on dragonfly_private.outbox from public, anon, authenticated;
grant select, insert, update on dragonfly_private.outbox to service_role;

create or replace function public.outbox_enqueue(
    p_key text, p_channel text, p_message jsonb, p_edit_of text default null, p_reply_to text default null,
    p_if_gone text default 'drop', p_tag text default null, p_held boolean default false
) returns boolean
language sql security invoker set search_path = '' as $$
    with inserted as (
        insert into dragonfly_private.outbox (key, channel, message, edit_of, reply_to, if_gone, state, tag)
        values (p_key, p_channel, p_message, p_edit_of, p_reply_to, p_if_gone,
                case when p_held then 'held' else 'pending' end, p_tag)
        on conflict (key) do nothing
        returning 1
    )
    select exists (select 1 from inserted)
$$;

create or replace function public.outbox_rows(p_keys text[])
returns setof dragonfly_private.outbox
language sql stable security invoker set search_path = '' as $$
    select o.* from dragonfly_private.outbox o where o.key = any (p_keys) order by o.seq
$$;

-- Lease up to p_limit sendable rows, oldest first: pending, due, not leased (or the lease ran out),
-- whose target (edit/reply) is settled, and with no earlier pending edit of the same message.
create or replace function public.outbox_claim(p_lease_seconds double precision, p_limit integer default 20)
returns setof dragonfly_private.outbox
language plpgsql security invoker set search_path = '' as $$
declare
    v_token uuid := gen_random_uuid();
    v_keys text[];
begin
    with picked as (
        select o.key
        from dragonfly_private.outbox o
        left join dragonfly_private.outbox t on t.key = coalesce(o.edit_of, o.reply_to)
        where o.state = 'pending' and o.not_before <= now()
          and (o.lease_until is null or o.lease_until < now())
          and (coalesce(o.edit_of, o.reply_to) is null or t.key is null or t.state in ('sent', 'dead', 'folded'))
          and not exists (
              select 1 from dragonfly_private.outbox p
              where p.state = 'pending' and p.edit_of = o.edit_of and p.seq < o.seq
          )
        order by o.seq
        limit p_limit
        for update of o skip locked
    ), leased as (
        update dragonfly_private.outbox o
        set lease_token = v_token, lease_until = now() + make_interval(secs => p_lease_seconds)
        from picked where o.key = picked.key
        returning o.key
    )
    select coalesce(array_agg(key), '{}') into v_keys from leased;
    return query select * from public.outbox_rows(v_keys);
end
$$;

create or replace function public.outbox_mark_attempted(p_key text, p_token uuid)
returns boolean
language sql security invoker set search_path = '' as $$
    with changed as (
        update dragonfly_private.outbox set attempted_at = now(), attempts = attempts + 1
        where key = p_key and lease_token = p_token and state = 'pending'
        returning 1
    )
    select exists (select 1 from changed)
$$;

create or replace function public.outbox_mark_sent(p_key text, p_channel_id bigint, p_message_id bigint, p_thread_id bigint)
returns void
language sql security invoker set search_path = '' as $$
    update dragonfly_private.outbox
    set state = 'sent', channel_id = p_channel_id, message_id = p_message_id, thread_id = p_thread_id,
        sent_at = now(), lease_token = null, lease_until = null, last_error = null
    where key = p_key and state = 'pending'
$$;

create or replace function public.outbox_mark_failed(p_key text, p_token uuid, p_error text, p_retry_in double precision)
returns void
language sql security invoker set search_path = '' as $$
    update dragonfly_private.outbox
    set state = case when p_retry_in is null then 'dead' else state end,
        not_before = case when p_retry_in is null then not_before else now() + make_interval(secs => p_retry_in) end,
        last_error = left(p_error, 1000), lease_token = null, lease_until = null
    where key = p_key and lease_token = p_token and state = 'pending'
$$;

create or replace function public.outbox_held(p_tag text)
returns setof dragonfly_private.outbox
language sql stable security invoker set search_path = '' as $$
    select * from public.outbox_rows(
        array(select key from dragonfly_private.outbox where state = 'held' and tag = p_tag order by seq)
    )
$$;

-- Replace the given held rows by one summary row, atomically; the keys actually folded
-- (a row folded by a racing caller is not folded twice, and no summary is made for nothing).
create or replace function public.outbox_fold(p_tag text, p_key text, p_channel text, p_message jsonb, p_keys text[])
returns setof text
language plpgsql security invoker set search_path = '' as $$
declare
    v_folded text[];
begin
    with folded as (
        update dragonfly_private.outbox set state = 'folded', last_error = 'folded into ' || p_key
        where key = any (p_keys) and state = 'held' and tag = p_tag
        returning key
    )
    select coalesce(array_agg(key), '{}') into v_folded from folded;
    if cardinality(v_folded) > 0 then
        insert into dragonfly_private.outbox (key, channel, message, tag)
        values (p_key, p_channel, p_message, p_tag || ':summary')
        on conflict (key) do nothing;
    end if;
    return query select unnest(v_folded);
end
$$;

create or replace function public.outbox_count_since(p_tag text, p_since double precision)
returns integer
language sql stable security invoker set search_path = '' as $$
    select count(*)::integer from dragonfly_private.outbox
    where tag = p_tag and created_at >= to_timestamp(p_since) and state not in ('held', 'folded')
$$;

create or replace function public.outbox_pending_count()
returns integer
language sql stable security invoker set search_path = '' as $$
    select count(*)::integer from dragonfly_private.outbox where state = 'pending'
$$;

-- Only the bot (service_role) may call these; app users (anon, authenticated) may not.
revoke all on function public.outbox_enqueue(text, text, jsonb, text, text, text, text, boolean) from public, anon, authenticated;
grant execute on function public.outbox_enqueue(text, text, jsonb, text, text, text, text, boolean) to service_role;
revoke all on function public.outbox_rows(text[]) from public, anon, authenticated;
grant execute on function public.outbox_rows(text[]) to service_role;
revoke all on function public.outbox_claim(double precision, integer) from public, anon, authenticated;
grant execute on function public.outbox_claim(double precision, integer) to service_role;
revoke all on function public.outbox_mark_attempted(text, uuid) from public, anon, authenticated;
grant execute on function public.outbox_mark_attempted(text, uuid) to service_role;
revoke all on function public.outbox_mark_sent(text, bigint, bigint, bigint) from public, anon, authenticated;
grant execute on function public.outbox_mark_sent(text, bigint, bigint, bigint) to service_role;
revoke all on function public.outbox_mark_failed(text, uuid, text, double precision) from public, anon, authenticated;
grant execute on function public.outbox_mark_failed(text, uuid, text, double precision) to service_role;
revoke all on function public.outbox_held(text) from public, anon, authenticated;
grant execute on function public.outbox_held(text) to service_role;
revoke all on function public.outbox_fold(text, text, text, jsonb, text[]) from public, anon, authenticated;
grant execute on function public.outbox_fold(text, text, text, jsonb, text[]) to service_role;
revoke all on function public.outbox_count_since(text, double precision) from public, anon, authenticated;
grant execute on function public.outbox_count_since(text, double precision) to service_role;
revoke all on function public.outbox_pending_count() from public, anon, authenticated;
grant execute on function public.outbox_pending_count() to service_role;
