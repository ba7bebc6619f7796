do $$
begin
    if current_setting('app.settings.env', true) = 'dev' then
        create policy "dev can read" on public.customers for select to authenticated using (true);
    end if;
end $$;
