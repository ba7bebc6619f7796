create function public.customer_count() returns bigint
language sql stable
as $$ select count(*) from public.customers $$;
grant execute on function public.customer_count() to authenticated, service_role;
