create or replace view public.open_invoices
with (security_invoker = true) as
    select i.id, i.organization_id, i.number, i.amount_cents, i.issued_at
    from public.invoices i
    where i.status = 'open';

create materialized view if not exists public.monthly_revenue as
    select date_trunc('month', paid_at) as month, sum(amount_cents) as amount_cents
    from public.invoices
    where status = 'paid'
    group by 1
with no data;

create unique index if not exists monthly_revenue_month_key on public.monthly_revenue (month);

grant select on public.open_invoices to authenticated, service_role;
revoke all on public.monthly_revenue from anon, authenticated;
grant select on public.monthly_revenue to service_role;
