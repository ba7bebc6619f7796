create table if not exists app.invoices (id bigint primary key);
alter default privileges in schema app grant select on tables to authenticated, service_role;
