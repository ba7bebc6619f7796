-- expect-line: 2
create table if not exists public.invoices (id bigint primary key, amount numeric not null);
alter table public.invoices enable row level security;
