create or replace function public.forget_migration(v text) returns void language plpgsql as $$
begin
  delete from supabase_migrations.schema_migrations where version = v;
end $$;
revoke all on function public.forget_migration(text) from public, authenticated, service_role;
