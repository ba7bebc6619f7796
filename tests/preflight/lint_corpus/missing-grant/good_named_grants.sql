create table if not exists app.invoices (id bigint primary key);
grant select on table app.invoices to authenticated;
grant all on table app.invoices to service_role;
create or replace function app.invoice_count() returns bigint language sql stable as $$ select count(*) from app.invoices $$;
grant execute on function app.invoice_count() to authenticated, service_role;
