-- expect-line: 3
alter table public.customers
    add column tier text;
