-- expect-line: 2
create policy "customers are readable" on public.customers for select to authenticated using (true);
