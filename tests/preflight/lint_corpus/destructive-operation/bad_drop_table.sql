-- expect-line: 2
drop table if exists public.legacy_customers;
