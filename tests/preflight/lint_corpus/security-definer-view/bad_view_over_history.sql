create or replace view public.v_applied as select version, statements from supabase_migrations.schema_migrations;
