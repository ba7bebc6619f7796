-- pglast compiles a body without the catalog, so the team's own types read as "record" to it: an enum in a
-- multi-item INTO, an array of an enum as argument and constant, a %rowtype's field assigned. PostgreSQL
-- accepts all of them (tests/preflight/test_lint_parse_errors_on_postgres.py applies this file), so none is a finding.
do $$ begin
    if not exists (select 1 from pg_type where typname = 'key_mode' and typnamespace = 'public'::regnamespace) then
        create type public.key_mode as enum ('read', 'write', 'all');
    end if;
end $$;
create table if not exists public.privacy_requests (id bigint primary key, status text not null, mode public.key_mode);
alter table public.privacy_requests enable row level security;
grant select on public.privacy_requests to authenticated, service_role;
drop policy if exists "own requests" on public.privacy_requests;
create policy "own requests" on public.privacy_requests for select to authenticated using (status <> 'hidden');

create or replace function public.mode_rank(modes public.key_mode[]) returns int
language plpgsql stable set search_path = ''
as $$
declare
    readable constant public.key_mode[] := '{read,all}'::public.key_mode[];
    picked public.key_mode;
    request_count int;
begin
    select count(*), min(r.mode) into request_count, picked from public.privacy_requests r where r.mode = any(modes);
    if picked = any(readable) then
        return request_count;
    end if;
    return 0;
end;
$$;
grant execute on function public.mode_rank(public.key_mode[]) to authenticated, service_role;

create or replace function public.triage(p_id bigint) returns text
language plpgsql set search_path = ''
as $$
declare
    request public.privacy_requests%rowtype;
begin
    select * into request from public.privacy_requests where id = p_id;
    request.status := 'triaged';
    return request.status;
end;
$$;
grant execute on function public.triage(bigint) to authenticated, service_role;
