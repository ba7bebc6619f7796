-- expect-line: 2
insert into supabase_migrations.schema_migrations (version, name) values ('20251209000000', 'x');
