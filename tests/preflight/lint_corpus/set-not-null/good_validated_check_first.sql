set lock_timeout = '5s';
alter table public.orders drop constraint if exists customer_id_not_null;
alter table public.orders add constraint customer_id_not_null check (customer_id is not null) not valid;
alter table public.orders validate constraint customer_id_not_null;
alter table public.orders alter column customer_id set not null;
