-- Supabase's default privileges in public grant new tables and functions to anon, authenticated, service_role.
create table if not exists public.invoices (id bigint primary key, amount numeric not null);
alter table public.invoices enable row level security;
drop policy if exists invoices_read on public.invoices;
create policy invoices_read on public.invoices for select to authenticated using (auth.uid() is not null);
