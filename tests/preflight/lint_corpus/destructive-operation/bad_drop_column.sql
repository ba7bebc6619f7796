set lock_timeout = '5s';
alter table public.customers drop column if exists legacy_code;
