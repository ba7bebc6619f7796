create index concurrently on public.customers (tier);
