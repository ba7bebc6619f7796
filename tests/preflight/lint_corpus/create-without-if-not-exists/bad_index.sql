-- expect-line: 2
create index concurrently customers_tier_idx on public.customers (tier);
