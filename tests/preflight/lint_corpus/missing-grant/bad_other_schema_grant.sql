create table if not exists private.invoices (id bigint primary key);
grant select on all tables in schema public to authenticated, service_role;
