set lock_timeout = '5s';
alter table public.customers add column if not exists region text, add column if not exists country text;
alter table if exists public.customers add column if not exists tier text not null default 'free';
