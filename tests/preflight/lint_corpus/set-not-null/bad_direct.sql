set lock_timeout = '5s';
alter table public.orders alter column customer_id set not null;
