set lock_timeout = '5s';
alter table public.orders add column if not exists public_id uuid default gen_random_uuid();
