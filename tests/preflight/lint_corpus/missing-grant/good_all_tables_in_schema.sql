create table if not exists app.invoices (id bigint primary key, amount numeric not null);
create or replace view app.open_invoices as select * from app.invoices;
grant select, insert, update, delete on all tables in schema app to authenticated, service_role;
