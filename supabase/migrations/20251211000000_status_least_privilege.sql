-- Least privilege for the migration status schema (issue 14, part 1).
--
-- * v_migration_status runs as its caller (security_invoker), so it can never
--   show what the caller could not read itself; only service_role (the bot's
--   key) may read it, statements included. authenticated (any signed-in user
--   of the team's app) reads nothing the bot stores.
-- * service_role therefore reads the tables behind the view itself:
--   supabase_migrations.schema_migrations (read only, never altered).
-- * The append-only trigger function pins search_path; the identity sequence
--   of migration_runs is granted to nobody (CI inserts as the owner).
--
-- Safe to apply twice: every statement is guarded or replaces in place.

alter view public.v_migration_status set (security_invoker = true);
revoke all on public.v_migration_status from public, anon, authenticated, service_role;
grant select on public.v_migration_status to service_role;

grant usage on schema supabase_migrations to service_role;
grant select on supabase_migrations.schema_migrations to service_role;

revoke all on public.migration_runs from public, anon, authenticated, service_role;
grant select on public.migration_runs to service_role;
drop policy if exists migration_runs_read on public.migration_runs;
create policy migration_runs_read on public.migration_runs
    for select to service_role using (true);

revoke all on public.dragonfly_migrations from public, anon, authenticated, service_role;
grant select on public.dragonfly_migrations to service_role;
drop policy if exists dragonfly_migrations_read on public.dragonfly_migrations;
create policy dragonfly_migrations_read on public.dragonfly_migrations
    for select to service_role using (true);

alter function public.migration_runs_append_only() set search_path = '';
revoke all on function public.migration_runs_append_only() from public, anon, authenticated, service_role;

do $$
declare
    seq text := pg_get_serial_sequence('public.migration_runs', 'id');
begin
    if seq is not null then
        execute format('revoke all on sequence %s from public, anon, authenticated, service_role', seq);
    end if;
end $$;
