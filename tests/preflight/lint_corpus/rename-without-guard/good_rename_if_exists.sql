alter table if exists public.customers rename to clients;
alter index if exists public.customers_tier_idx rename to clients_tier_idx;
