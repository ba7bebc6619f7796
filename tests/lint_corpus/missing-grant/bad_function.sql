create or replace function public.invoice_total(p_customer bigint) returns numeric
language sql stable security definer set search_path = ''
as $$ select coalesce(sum(amount), 0) from public.invoices where customer_id = p_customer $$;
