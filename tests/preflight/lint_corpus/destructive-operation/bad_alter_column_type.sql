set lock_timeout = '5s';
alter table public.customers alter column tier type text;
