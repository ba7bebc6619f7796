drop policy if exists "customers are readable" on public.customers;
create policy "customers are readable" on public.customers for select to authenticated using (true);
drop policy if exists owners_update on customers;
create policy owners_update on public.customers for update to authenticated
    using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
