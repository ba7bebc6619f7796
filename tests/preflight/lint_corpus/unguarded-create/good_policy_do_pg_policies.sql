do $$
begin
  if not exists (
    select 1 from pg_policies
    where schemaname = 'public' and tablename = 'customers' and policyname = 'owners update'
  ) then
    create policy "owners update" on public.customers for update to authenticated using (owner_id = auth.uid());
  end if;
end $$;
