grant select on all tables in schema app to authenticated, service_role;
create table if not exists app.invoices (id bigint primary key);
