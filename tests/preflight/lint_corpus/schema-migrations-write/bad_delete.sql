delete from supabase_migrations.schema_migrations where version = '20251209000000';
