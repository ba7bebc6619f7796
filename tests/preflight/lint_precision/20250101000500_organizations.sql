create table if not exists public.organizations (
    id uuid primary key default extensions.gen_random_uuid(),
    name text not null,
    slug text not null unique,
    created_at timestamptz not null default now()
);

create table if not exists public.memberships (
    organization_id uuid not null references public.organizations (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    role public.membership_role not null default 'member',
    created_at timestamptz not null default now(),
    primary key (organization_id, user_id)
);

create index if not exists memberships_user_id_idx on public.memberships (user_id);

alter table public.organizations enable row level security;
alter table public.memberships enable row level security;

grant select, insert, update, delete on all tables in schema public to authenticated, service_role;
