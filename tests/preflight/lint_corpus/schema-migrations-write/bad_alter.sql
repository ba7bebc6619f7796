set lock_timeout = '5s';
alter table supabase_migrations.schema_migrations add column if not exists note text;
