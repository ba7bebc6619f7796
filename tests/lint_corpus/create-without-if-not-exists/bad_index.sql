-- expect-line: 2
create index customers_tier_idx on public.customers (tier);
