alter table public.customers drop constraint customers_tier_check;
