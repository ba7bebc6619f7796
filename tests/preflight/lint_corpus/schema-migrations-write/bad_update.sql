update supabase_migrations.schema_migrations set name = 'renamed' where version = '20251209000000';
