-- GRANT ... ON ALL TABLES IN SCHEMA reaches the tables that exist when it runs; a later table gets nothing.
-- corpus-prior: grant select on all tables in schema app to authenticated, service_role;
-- expect-line: 4
create table if not exists app.late_table (id bigint primary key);
