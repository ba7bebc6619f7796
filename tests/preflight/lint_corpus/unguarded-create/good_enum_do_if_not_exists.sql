do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where t.typname = 'customer_tier' and n.nspname = 'public') then
    create type public.customer_tier as enum ('free', 'pro');
  end if;
end $$;
