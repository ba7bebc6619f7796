-- expect-line: 2
alter table public.customers rename to clients;
