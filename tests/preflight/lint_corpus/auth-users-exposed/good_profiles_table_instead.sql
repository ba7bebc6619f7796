create table if not exists public.profiles (id uuid primary key references auth.users (id) on delete cascade, display_name text);
alter table public.profiles enable row level security;
drop policy if exists profiles_read on public.profiles;
create policy profiles_read on public.profiles for select to authenticated using (true);
