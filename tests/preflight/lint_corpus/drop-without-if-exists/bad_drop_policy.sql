drop policy "customers are readable" on public.customers;
