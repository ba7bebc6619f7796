create table if not exists public.plans (id text primary key, price_cents int not null);
alter table public.plans enable row level security;
drop policy if exists plans_read on public.plans;
create policy plans_read on public.plans for select to anon, authenticated using (true);
grant select on public.plans to anon, authenticated;
