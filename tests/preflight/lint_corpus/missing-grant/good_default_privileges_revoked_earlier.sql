-- corpus-prior: alter default privileges in schema app revoke all on tables from anon, authenticated, service_role;
create table if not exists app.internal_rows (id bigint primary key);
