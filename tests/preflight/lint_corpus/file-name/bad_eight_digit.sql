-- corpus-file: 20251209_add_customer_tier.sql
create table if not exists public.customers (id bigint primary key);
grant select on public.customers to authenticated, service_role;
revoke all on public.customers from anon, authenticated;
