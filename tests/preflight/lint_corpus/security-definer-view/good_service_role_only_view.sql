create or replace view public.v_applied as select version from supabase_migrations.schema_migrations;
revoke all on public.v_applied from anon, authenticated;
grant select on public.v_applied to service_role;
