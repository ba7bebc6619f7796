create or replace view public.open_invoices as select * from public.invoices where paid_at is null;
grant select on public.open_invoices to authenticated;
