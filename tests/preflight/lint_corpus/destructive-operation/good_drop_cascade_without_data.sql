-- Views, functions and policies hold no rows: CASCADE here loses no data.
drop view if exists public.v_orders cascade;
drop function if exists public.order_total(int) cascade;
drop type if exists public.mood;
