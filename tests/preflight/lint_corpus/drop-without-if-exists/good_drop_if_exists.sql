set lock_timeout = '5s';
drop view if exists public.active_customers;
drop function if exists public.customer_count();
drop policy if exists "customers are readable" on public.customers;
alter table public.customers drop constraint if exists customers_tier_check;
drop index concurrently if exists public.customers_tier_idx;
drop trigger if exists customers_touch on public.customers;
drop type if exists public.unused_kind;
