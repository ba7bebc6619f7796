alter table if exists public.customers rename column tier to plan;
