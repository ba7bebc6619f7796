-- As `supabase db dump` writes a schema: every table granted to the API roles, which restates Supabase's
-- default privileges in public; row level security and the policies decide who sees which rows.
create table if not exists public.price_list (id bigint primary key, item text not null, cents integer not null);
alter table public.price_list enable row level security;
drop policy if exists price_list_read on public.price_list;
create policy price_list_read on public.price_list for select to anon, authenticated using (true);
grant all on table public.price_list to anon;
grant all on table public.price_list to authenticated;
grant all on table public.price_list to service_role;
