-- expect-line: 3
-- customers by tier
create table public.customers (
    id bigint generated always as identity primary key,
    tier text not null default 'free'
);
grant select on public.customers to authenticated, service_role;
revoke all on public.customers from anon, authenticated;
