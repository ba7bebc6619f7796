alter default privileges in schema public grant select, insert, update, delete on tables to authenticated, service_role;
alter default privileges in schema public grant usage, select on sequences to authenticated, service_role;

create table if not exists public.projects (
    id bigint generated always as identity primary key,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    name text not null,
    description text,
    archived boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index if not exists projects_organization_id_idx on public.projects (organization_id);
create index if not exists projects_name_trgm_idx on public.projects using gin (name extensions.gin_trgm_ops);

alter table public.projects enable row level security;

drop policy if exists "Members manage projects" on public.projects;
create policy "Members manage projects" on public.projects
    for all to authenticated
    using (private.is_member(organization_id))
    with check (private.is_member(organization_id));

drop trigger if exists projects_set_updated_at on public.projects;
create trigger projects_set_updated_at before update on public.projects
    for each row execute function public.set_updated_at();
