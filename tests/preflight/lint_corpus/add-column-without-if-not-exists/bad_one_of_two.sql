set lock_timeout = '5s';
alter table public.customers add column if not exists region text, add column country text;
