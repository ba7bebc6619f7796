do $$
begin
    if exists (
        select 1 from information_schema.columns
        where table_schema = 'public' and table_name = 'customers' and column_name = 'tier'
    ) then
        alter table public.customers rename column tier to plan;
    end if;
end $$;

do $$
begin
    alter type public.customer_tier rename value 'pro' to 'professional';
exception
    when invalid_parameter_value then null;
end $$;
