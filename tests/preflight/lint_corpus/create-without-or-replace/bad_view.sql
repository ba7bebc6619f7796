-- expect-line: 2
create view public.active_customers as select * from public.customers where tier <> 'churned';
grant select on public.active_customers to authenticated, service_role;
