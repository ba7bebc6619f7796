create or replace view public.v_applied with (security_invoker = true) as
    select version, name from supabase_migrations.schema_migrations;
grant select on public.v_applied to authenticated, service_role;
