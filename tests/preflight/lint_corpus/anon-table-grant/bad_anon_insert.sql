create table if not exists public.signups (id bigint primary key, email text);
alter table public.signups enable row level security;
drop policy if exists signups_read on public.signups;
create policy signups_read on public.signups for select to authenticated using (true);
grant insert on public.signups to anon;
