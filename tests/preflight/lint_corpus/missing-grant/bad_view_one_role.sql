create or replace view app.open_invoices as select * from app.invoices where paid_at is null;
grant select on app.open_invoices to authenticated;
