-- expect-line: 5
do $$
begin
  if exists (select 1 from supabase_migrations.schema_migrations where version = '1') then
    delete from supabase_migrations.schema_migrations where version = '1';
  end if;
end $$;
