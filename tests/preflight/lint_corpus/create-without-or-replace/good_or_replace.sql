create or replace view public.active_customers with (security_invoker = true) as
    select * from public.customers where tier <> 'churned';
create or replace function public.customer_count() returns bigint
language sql stable
as $$ select count(*) from public.customers $$;
create or replace procedure public.refresh_counts() language sql as $$ refresh materialized view public.customer_counts $$;
create or replace trigger customers_touch before update on public.customers
    for each row execute function public.touch_updated_at();
grant select on public.active_customers to authenticated, service_role;
grant execute on function public.customer_count() to authenticated, service_role;
