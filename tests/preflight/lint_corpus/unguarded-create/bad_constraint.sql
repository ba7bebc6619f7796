set lock_timeout = '5s';
alter table public.customers add constraint customers_tier_check check (tier in ('free', 'pro')) not valid;
