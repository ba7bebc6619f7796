create index on public.customers (tier);
