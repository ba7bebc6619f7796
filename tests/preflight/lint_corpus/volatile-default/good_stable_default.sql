set lock_timeout = '5s';
alter table public.orders add column if not exists archived_at timestamptz default now();
alter table public.orders add column if not exists public_id uuid;
alter table public.orders alter column public_id set default gen_random_uuid();
