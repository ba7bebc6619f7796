-- expect-line: 5
-- A constant EXECUTE runs its SQL exactly as if it were written out.
do $$
begin
  execute 'delete from supabase_migrations.schema_migrations where version = ''20251101000000''';
end $$;
