-- expect-line: 2
create table if not exists public.notes (id bigint primary key, body text not null);
grant select on public.notes to authenticated, service_role;
