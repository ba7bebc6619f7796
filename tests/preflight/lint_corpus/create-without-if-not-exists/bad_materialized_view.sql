create materialized view public.customer_counts as select tier, count(*) from public.customers group by tier;
grant select on public.customer_counts to authenticated, service_role;
