set lock_timeout = '5s';
-- expect-line: 4
alter table public.customers
    add column tier text;
