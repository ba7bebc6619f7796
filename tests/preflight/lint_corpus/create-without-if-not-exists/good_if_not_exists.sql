create schema if not exists private;
create extension if not exists pg_trgm with schema extensions;
create sequence if not exists public.invoice_number_seq;
create table if not exists public.customers (
    id bigint generated always as identity primary key,
    tier text not null default 'free'
);
create index if not exists customers_tier_idx on public.customers (tier);
create unique index concurrently if not exists customers_tier_uidx on public.customers (id, tier);
create materialized view if not exists public.customer_counts as select tier, count(*) from public.customers group by tier;
alter type public.customer_tier add value if not exists 'enterprise';
grant select on public.customers, public.customer_counts to authenticated, service_role;
revoke all on public.customers from anon, authenticated;
