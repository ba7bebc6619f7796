do $$
declare
    existing integer;
begin
    select count(*) into existing
    from pg_policies
    where schemaname = 'public' and tablename = 'customers' and policyname = 'owners delete';
    if existing = 0 then
        create policy "owners delete" on public.customers for delete to authenticated using (owner_id = auth.uid());
    end if;
end $$;
