do $$
begin
  create policy "owners update" on public.customers for update to authenticated using (owner_id = auth.uid());
end $$;
