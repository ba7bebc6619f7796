-- expect-line: 2
create table if not exists app.invoices (id bigint primary key, amount numeric not null);
alter table app.invoices enable row level security;
