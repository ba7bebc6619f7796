-- Migration tracking for the Database Migration Protocol.
--
-- * public.dragonfly_migrations: the legacy tracker (versions 0001-0070),
--   created only where it does not exist yet.
-- * public.migration_runs: an append-only record of every CI attempt
--   (applied or failed). CI, connecting as the database owner, is its only
--   writer: no API role gets INSERT, and UPDATE/DELETE are refused outright.
-- * public.v_migration_status: the one view the REST API exposes, joining
--   both trackers with the run record. It reads
--   supabase_migrations.schema_migrations and never alters it.
--
-- Safe to apply twice: every statement is guarded or replaces in place.

create table if not exists public.dragonfly_migrations (
    version text primary key,
    name text not null,
    applied_at timestamptz,
    applied_by text
);

create table if not exists public.migration_runs (
    id bigint generated always as identity primary key,
    environment text not null,
    status text not null check (status in ('applied', 'failed')),
    version text not null,
    file_name text,
    sqlstate text,
    error_message text,
    failing_statement text,
    ci_run_url text,
    commit_sha text,
    actor text,
    recorded_at timestamptz not null default now()
);

create index if not exists migration_runs_version_recorded_idx
    on public.migration_runs (version, recorded_at desc, id desc);

alter table public.dragonfly_migrations enable row level security;
alter table public.migration_runs enable row level security;

-- Supabase grants new public tables to every API role by default; take that
-- back and give read access only.
revoke all on public.dragonfly_migrations from public, anon, authenticated, service_role;
revoke all on public.migration_runs from public, anon, authenticated, service_role;
grant select on public.dragonfly_migrations to authenticated, service_role;
grant select on public.migration_runs to authenticated, service_role;

drop policy if exists dragonfly_migrations_read on public.dragonfly_migrations;
create policy dragonfly_migrations_read on public.dragonfly_migrations
    for select to authenticated, service_role using (true);
drop policy if exists migration_runs_read on public.migration_runs;
create policy migration_runs_read on public.migration_runs
    for select to authenticated, service_role using (true);

create or replace function public.migration_runs_append_only()
returns trigger
language plpgsql
as $$
begin
    raise exception 'public.migration_runs is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

revoke all on function public.migration_runs_append_only() from public, anon, authenticated;

drop trigger if exists migration_runs_no_update on public.migration_runs;
create trigger migration_runs_no_update
    before update or delete on public.migration_runs
    for each row execute function public.migration_runs_append_only();

drop trigger if exists migration_runs_no_truncate on public.migration_runs;
create trigger migration_runs_no_truncate
    before truncate on public.migration_runs
    for each statement execute function public.migration_runs_append_only();

-- One row per migration the database knows about. statement_count and
-- statements_digest let a client detect a file edited after it was applied
-- without fetching every statement; `statements` is there for the few
-- versions whose digest differs (PostgREST's select= leaves it out otherwise).
-- The digest is md5 of the statements joined by chr(30), as bot/domain/sql.py
-- computes it for local files.
create or replace view public.v_migration_status as
with last_run as (
    select distinct on (version)
        version, status, file_name, sqlstate, error_message, failing_statement,
        ci_run_url, commit_sha, actor, recorded_at
    from public.migration_runs
    order by version, recorded_at desc, id desc
),
last_applied_run as (
    select distinct on (version)
        version, ci_run_url, commit_sha, actor, recorded_at
    from public.migration_runs
    where status = 'applied'
    order by version, recorded_at desc, id desc
)
select
    'legacy'::text as source,
    lpad(l.version::text, 4, '0') as version,
    l.name::text as name,
    'applied'::text as status,
    l.applied_at as executed_at,
    l.applied_by::text as applied_by,
    null::integer as statement_count,
    null::text as statements_digest,
    null::text[] as statements,
    null::text as error_sqlstate,
    null::text as error_message,
    null::text as error_statement,
    null::text as ci_run_url,
    null::text as commit_sha
from public.dragonfly_migrations l
union all
select
    'supabase',
    s.version,
    s.name,
    'applied',
    r.recorded_at,
    r.actor,
    cardinality(s.statements),
    case when s.statements is null then null
         else md5(array_to_string(s.statements, chr(30))) end,
    s.statements,
    null,
    null,
    null,
    r.ci_run_url,
    r.commit_sha
from supabase_migrations.schema_migrations s
left join last_applied_run r on r.version = s.version
union all
select
    'supabase',
    f.version,
    regexp_replace(coalesce(f.file_name, ''), '^[0-9]+_|\.sql$', '', 'g'),
    'failed',
    f.recorded_at,
    f.actor,
    null,
    null,
    null,
    f.sqlstate,
    f.error_message,
    f.failing_statement,
    f.ci_run_url,
    f.commit_sha
from last_run f
where f.status = 'failed'
  and not exists (
      select 1 from supabase_migrations.schema_migrations s where s.version = f.version
  );

revoke all on public.v_migration_status from public, anon, authenticated, service_role;
grant select on public.v_migration_status to authenticated, service_role;

comment on view public.v_migration_status is
    'Migration status for tools.migration_status and dragonfly-bot (read-only, via REST).';
