grant select on all tables in schema public to authenticated, service_role;
create table if not exists public.invoices (id bigint primary key);
