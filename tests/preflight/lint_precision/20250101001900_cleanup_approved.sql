-- approved-destructive: the staging table was emptied into public.projects by 20250101000700 (OPS-311)
drop table if exists public.projects_import_staging;

create table if not exists public.feature_flags (
    key text primary key,
    enabled boolean not null default false,
    description text
);

alter table public.feature_flags enable row level security;

drop policy if exists "Flags are readable" on public.feature_flags;
create policy "Flags are readable" on public.feature_flags for select to authenticated using (true);

grant select on public.feature_flags to authenticated;
grant all on public.feature_flags to service_role;

insert into public.feature_flags (key, enabled, description) values
    ('new_dashboard', false, 'Redesigned dashboard'),
    ('exports', true, 'CSV exports')
on conflict (key) do nothing;
