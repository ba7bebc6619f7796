set lock_timeout = '5s';
alter table public.orders drop constraint if exists orders_total_positive;
alter table public.orders add constraint orders_total_positive check (total >= 0);
