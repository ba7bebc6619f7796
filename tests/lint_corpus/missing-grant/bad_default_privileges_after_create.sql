create table if not exists public.invoices (id bigint primary key);
alter default privileges in schema public grant select on tables to authenticated, service_role;
