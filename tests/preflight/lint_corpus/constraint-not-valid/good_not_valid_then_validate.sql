set lock_timeout = '5s';
alter table public.orders drop constraint if exists orders_customer_fk;
alter table public.orders add constraint orders_customer_fk foreign key (customer_id) references public.customers (id) not valid;
alter table public.orders validate constraint orders_customer_fk;
