set lock_timeout = '5s';
alter table public.customers drop constraint customers_tier_check;
