begin;
set local lock_timeout = '5s';
commit;
create index concurrently if not exists orders_created_at_idx on public.orders (created_at);
