-- One profile per auth user, readable by its owner.
create table if not exists public.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    username extensions.citext unique,
    full_name text,
    avatar_url text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint username_length check (char_length(username) >= 3)
);

alter table public.profiles enable row level security;

drop policy if exists "Profiles are viewable by their owner" on public.profiles;
create policy "Profiles are viewable by their owner"
    on public.profiles for select
    to authenticated
    using ((select auth.uid()) = id);

drop policy if exists "Users can update their own profile" on public.profiles;
create policy "Users can update their own profile"
    on public.profiles for update
    to authenticated
    using ((select auth.uid()) = id)
    with check ((select auth.uid()) = id);

grant select, update on public.profiles to authenticated;
grant all on public.profiles to service_role;
