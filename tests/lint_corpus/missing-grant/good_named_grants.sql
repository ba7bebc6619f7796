create table if not exists public.invoices (id bigint primary key);
grant select on table public.invoices to authenticated;
grant all on table public.invoices to service_role;
create or replace function public.invoice_count() returns bigint language sql stable as $$ select count(*) from public.invoices $$;
grant execute on function public.invoice_count() to authenticated, service_role;
