-- PostgreSQL lets PUBLIC execute a new function: no GRANT is needed for the API roles to call it.
create or replace function app.invoice_total(p_customer bigint) returns numeric
language sql stable set search_path = ''
as $$ select coalesce(sum(amount), 0) from app.invoices where customer_id = p_customer $$;
