do $$
begin
    create index concurrently if not exists orders_created_at_idx on public.orders (created_at);
end $$;
