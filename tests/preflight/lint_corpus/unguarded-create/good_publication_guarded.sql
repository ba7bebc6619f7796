do $$
begin
  alter publication supabase_realtime add table public.customers;
exception when duplicate_object then null;
end $$;
