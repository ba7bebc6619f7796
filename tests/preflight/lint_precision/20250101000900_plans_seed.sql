create table if not exists public.plans (
    code text primary key,
    name text not null,
    monthly_price_cents integer not null check (monthly_price_cents >= 0),
    seats integer
);

alter table public.plans enable row level security;

drop policy if exists "Plans are public" on public.plans;
create policy "Plans are public" on public.plans for select to anon, authenticated using (true);

grant select on public.plans to anon, authenticated;
grant all on public.plans to service_role;

insert into public.plans (code, name, monthly_price_cents, seats) values
    ('free', 'Free', 0, 1),
    ('pro', 'Pro', 2500, 5),
    ('team', 'Team', 9900, null)
on conflict (code) do update
    set name = excluded.name,
        monthly_price_cents = excluded.monthly_price_cents,
        seats = excluded.seats;
