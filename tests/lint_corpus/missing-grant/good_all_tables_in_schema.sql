create table if not exists public.invoices (id bigint primary key, amount numeric not null);
create or replace view public.open_invoices as select * from public.invoices;
grant select, insert, update, delete on all tables in schema public to authenticated, service_role;
