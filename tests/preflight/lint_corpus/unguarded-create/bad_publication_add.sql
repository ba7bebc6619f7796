alter publication supabase_realtime add table public.customers;
