alter default privileges in schema app grant all on tables to authenticated, service_role;
alter default privileges in schema app grant execute on functions to authenticated, service_role;
create table if not exists app.invoices (id bigint primary key);
create or replace function app.invoice_count() returns bigint language sql stable as $$ select count(*) from app.invoices $$;
