do $$
begin
    create type public.customer_tier as enum ('free', 'pro');
exception
    when duplicate_object then null;
end
$$;
