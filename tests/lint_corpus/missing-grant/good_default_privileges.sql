alter default privileges in schema public grant all on tables to authenticated, service_role;
alter default privileges in schema public grant execute on functions to authenticated, service_role;
create table if not exists public.invoices (id bigint primary key);
create or replace function public.invoice_count() returns bigint language sql stable as $$ select count(*) from public.invoices $$;
