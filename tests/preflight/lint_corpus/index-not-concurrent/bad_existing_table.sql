set lock_timeout = '5s';
create index if not exists orders_created_at_idx on public.orders (created_at);
